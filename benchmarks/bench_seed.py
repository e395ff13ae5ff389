# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeding an image at depth 1, 2 and 3: docker save | docker load level by level against one
pull from the nested.hosts.registry mirror at that depth.

Run from the repository root:  .venv/bin/python benchmarks/bench_seed.py [--image IMG]

Builds the registry (nested.hosts.registry) and host -> nhbench-reg-1 -> nhbench-reg-2 ->
nhbench-reg-3 with nested.hosts.dind and dind_registry_mirror. The seeded image is a flattened
copy of IMAGE (docker export | docker import, nhbench-reg/base:flat), so that it shares no layer
with the dind image every level runs. Then, per depth d:

* mirror: ``docker pull`` in the daemon at depth d (one hop from the registry);
* save|load: ``docker save | docker exec -i docker load`` from the host into level 1, level 1
  into level 2, level 2 into level 3; depth d costs the sum of the first d hops.

Prints the times, the ratios save|load / mirror and the load average, then removes everything it
created (nhbench-reg-* containers and volumes, the flat image and its tags, the registry when this
run created it, the temporary directory).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it

REPO_ROOT = Path(__file__).resolve().parents[1]
LEVELS = ["nhbench-reg-1", "nhbench-reg-2", "nhbench-reg-3"]
FLAT = "nhbench-reg/base:flat"
DIND_IMAGE = "nested-hosts/dind:bookworm"
REGISTRY_MARK = Path("/etc/docker/registry/nested-hosts")

PLAYBOOK = """---
- name: Registry and level 1
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Registry
      ansible.builtin.include_role:
        name: nested.hosts.registry
      vars:
        registry_push_images: [{dind}, {flat}]
    - name: Level 1
      ansible.builtin.include_role:
        name: nested.hosts.dind
      vars:
        dind_containers: [{{name: {l1}}}]
        dind_registry_mirror: "{{{{ registry_endpoint }}}}"
        dind_seed_images: [{dind}]
- name: Level 2
  hosts: {l1}
  gather_facts: false
  tasks:
    - name: Level 2
      ansible.builtin.include_role:
        name: nested.hosts.dind
      vars:
        dind_containers: [{{name: {l2}}}]
        dind_registry_mirror: "{{{{ hostvars.localhost.registry_endpoint }}}}"
        dind_seed_images: [{dind}]
- name: Level 3
  hosts: {l2}
  gather_facts: false
  tasks:
    - name: Level 3
      ansible.builtin.include_role:
        name: nested.hosts.dind
      vars:
        dind_containers: [{{name: {l3}}}]
        dind_registry_mirror: "{{{{ hostvars.localhost.registry_endpoint }}}}"
"""

ABSENT = """---
- name: Remove the registry
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Registry absent
      ansible.builtin.include_role:
        name: nested.hosts.registry
      vars:
        registry_state: absent
        registry_push_images: [{dind}, {flat}]
"""


def _playbook(workdir: Path, name: str, text: str) -> None:
    path = workdir / name
    path.write_text(text)
    inventory = workdir / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    # This checkout as nested.hosts, first on the collections path.
    _bench.link_collection(workdir / "collections", REPO_ROOT)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=f"{workdir / 'collections'}{os.pathsep}"
               f"{os.path.expanduser('~/.ansible/collections')}")
    proc = subprocess.run([_bench.tool("ansible-playbook"), "-i", str(inventory), str(path)], cwd=REPO_ROOT, text=True,
                          capture_output=True, check=False, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise SystemExit(f"{name} failed:\n{tail}\n{proc.stderr}")


def chain(depth: int) -> list[str]:
    """The ``docker exec`` prefix that runs a command in the daemon's namespace at ``depth`` (1-3)."""
    prefix: list[str] = []
    for level in LEVELS[:depth]:
        prefix += ["docker", "exec", "-i", level]
    return prefix


def _timed(argv: list[str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} failed: {proc.stderr[-2000:]}")
    return time.monotonic() - started


def hop(depth: int, image: str) -> float:
    """save|load from the daemon at depth-1 into the one at depth."""
    pipeline = f"set -o pipefail; docker save {shlex.quote(image)} | docker exec -i {LEVELS[depth - 1]} docker load"
    return _timed([*chain(depth - 1), "bash", "-c", pipeline])


def flatten(image: str) -> None:
    container = subprocess.run(["docker", "create", "--name", "nhbench-reg-flat", image, "true"], capture_output=True,
                               text=True, check=True).stdout.strip()
    try:
        subprocess.run(f"docker export {container} | docker import - {FLAT}", shell=True, check=True,  # noqa: S602
                       capture_output=True)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def cleanup(workdir: Path, registry_ours: bool) -> None:
    subprocess.run(["docker", "rm", "-f", "-v", LEVELS[0], "nhbench-reg-flat"], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", f"{LEVELS[0]}-lib"], capture_output=True, check=False)
    if registry_ours:
        _playbook(workdir, "absent.yml", ABSENT.format(dind=DIND_IMAGE, flat=FLAT))
    subprocess.run(["docker", "image", "rm", FLAT], capture_output=True, check=False)
    certs = Path.home() / ".nested-hosts" / "dind-certs" / "servers"
    for level in LEVELS:
        shutil.rmtree(certs / level, ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="nested-hosts/base:bookworm")
    args = parser.parse_args()
    if subprocess.run(["docker", "image", "inspect", args.image, DIND_IMAGE], capture_output=True,
                      check=False).returncode != 0:
        raise SystemExit(f"needs {args.image} and {DIND_IMAGE} (molecule/shared/ensure_base_image.yml, nested.hosts.dind)")
    workdir = Path(tempfile.mkdtemp(prefix="nhbench-reg-"))
    registry_ours = not REGISTRY_MARK.exists()
    try:
        flatten(args.image)
        size = int(subprocess.run(["docker", "image", "inspect", "--format", "{{.Size}}", FLAT], capture_output=True,
                                  text=True, check=True).stdout) / 1e6
        started = time.monotonic()
        _playbook(workdir, "levels.yml", PLAYBOOK.format(dind=DIND_IMAGE, flat=FLAT, l1=LEVELS[0], l2=LEVELS[1],
                                                         l3=LEVELS[2]))
        print(f"registry and 3 levels built in {time.monotonic() - started:.1f} s; image {FLAT} {size:.0f} MB")
        pulls = [_timed([*chain(d), "docker", "pull", "--quiet", FLAT]) for d in (1, 2, 3)]
        for d in (1, 2, 3):
            subprocess.run([*chain(d), "docker", "image", "rm", FLAT], capture_output=True, check=True)
        hops = [hop(d, FLAT) for d in (1, 2, 3)]
        load = os.getloadavg()
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
        print("depth  save|load (s)  mirror pull (s)  ratio")
        for d in (1, 2, 3):
            saved = sum(hops[:d])
            print(f"{d:>5}  {saved:>13.1f}  {pulls[d - 1]:>15.1f}  {saved / pulls[d - 1]:>5.2f}")
    finally:
        cleanup(workdir, registry_ours)
    return 0


if __name__ == "__main__":
    sys.exit(main())
