# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker-in-Docker cost by depth, and the time to seed an image into a nested daemon.

Run from the repository root:  .venv/bin/python benchmarks/bench_dind.py [--runs N] [--image IMG]

Builds host -> nhbench-l1 -> nhbench-l2 with the nested.hosts.dind role (so the figures are
those of what the role makes), then:

* depth d = a container started by the daemon d-1 levels down (depth 1: the host's daemon,
  depth 2: the daemon in nhbench-l1, depth 3: the daemon in nhbench-l2). At each depth a
  small timer runs *next to* that daemon's CLI and times ``docker run --rm IMAGE true``
  (one warm-up run per depth, then --runs rounds that each time one run per depth, so that
  load changes on a shared machine hit all depths alike); ``docker exec`` hops are not counted.
* seeding: ``docker save IMAGE | docker load`` from the host into nhbench-l1 and from
  nhbench-l1 into nhbench-l2 (the image is absent there beforehand).

Prints each median, the depth3/depth1 ratio (goal <= 1.3) and the seed times, then removes
everything it created (containers and volumes prefixed nhbench-, the temporary directory).
Needs: a running dockerd and ansible-playbook. The base image comes from
molecule/shared/ensure_base_image.yml (debootstrap, a no-op when current), the dind image from
the dind role.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it

REPO_ROOT = Path(__file__).resolve().parents[1]
L1, L2 = "nhbench-l1", "nhbench-l2"
GOAL = 1.3

# Runs at each level with that level's python3; prints one JSON list of durations.
TIMER = """
import json, subprocess, sys, time
image, runs, warm_up = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if warm_up:
    subprocess.run(["docker", "run", "--rm", image, "true"], check=True)
out = []
for _ in range(runs):
    start = time.monotonic()
    subprocess.run(["docker", "run", "--rm", image, "true"], check=True)
    out.append(time.monotonic() - start)
print(json.dumps(out))
"""

PLAYBOOK = """---
- name: Benchmark level 1
  hosts: localhost
  gather_facts: false
  roles:
    - role: nested.hosts.dind
      vars:
        dind_cert_dir: {certs}
        dind_containers: [{{name: {l1}}}]
        dind_seed_images: [{dind_image}]
- name: Benchmark level 2
  hosts: {l1}
  gather_facts: false
  roles:
    - role: nested.hosts.dind
      vars:
        dind_cert_dir: {certs}
        dind_containers: [{{name: {l2}}}]
"""


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LANG="C")
    return subprocess.run(argv, check=True, text=True, capture_output=True, env=env, **kwargs)  # type: ignore[call-overload]


def build_levels(workdir: Path, dind_image: str) -> None:
    playbook = workdir / "levels.yml"
    playbook.write_text(PLAYBOOK.format(certs=workdir / "certs", l1=L1, l2=L2, dind_image=dind_image))
    inventory = workdir / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    started = time.monotonic()
    proc = subprocess.run(
        [_bench.tool("ansible-playbook"), "-i", str(inventory), str(playbook)],
        cwd=REPO_ROOT,
        text=True,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise SystemExit(f"building the levels with nested.hosts.dind failed:\n{tail}\n{proc.stderr}")
    print(f"levels built by nested.hosts.dind in {time.monotonic() - started:.1f} s")


def ensure_base_image() -> None:
    """Build nested-hosts/base:bookworm with the base_image role (a no-op when it is current)."""
    proc = subprocess.run(
        [
            _bench.tool("ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(REPO_ROOT / "molecule" / "shared" / "ensure_base_image.yml"),
        ],
        cwd=REPO_ROOT,
        text=True,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise SystemExit(f"nested.hosts.base_image failed:\n{tail}")


def time_runs(prefix: list[str], python: str, image: str, runs: int, warm_up: bool) -> list[float]:
    out = _run([*prefix, python, "-c", TIMER, image, str(runs), "1" if warm_up else "0"])
    return [float(x) for x in json.loads(out.stdout.strip().splitlines()[-1])]


def seed(where: list[str], dest: str, image: str) -> float:
    """Run ``docker save IMAGE | docker exec -i DEST docker load`` where ``where`` says (a
    ``docker exec LEVEL`` prefix, or nothing for the host), as the dind role does."""
    pipeline = f"set -o pipefail; docker save {shlex.quote(image)} | docker exec -i {shlex.quote(dest)} docker load"
    started = time.monotonic()
    proc = subprocess.run([*where, "bash", "-c", pipeline], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"seeding {image} into {dest} failed: {proc.stderr}")
    return time.monotonic() - started


def image_size_mb(image: str) -> float:
    return int(_run(["docker", "image", "inspect", "--format", "{{.Size}}", image]).stdout) / 1e6


def cleanup(workdir: Path) -> None:
    # Removing level 1 with its volume removes level 2 (its volume lives inside level 1's).
    subprocess.run(["docker", "rm", "-f", "-v", L1], capture_output=True, check=False)
    subprocess.run(["docker", "volume", "rm", f"{L1}-lib"], capture_output=True, check=False)
    shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs per depth (>= 5)")
    parser.add_argument("--image", default="nested-hosts/base:bookworm")
    parser.add_argument("--dind-image", default="nested-hosts/dind:bookworm")
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the median of fewer runs is noise)")
    ensure_base_image()
    if subprocess.run(["docker", "image", "inspect", args.image], capture_output=True, check=False).returncode:
        raise SystemExit(f"image {args.image} is missing: build it first (molecule/shared/ensure_base_image.yml)")

    workdir = Path(tempfile.mkdtemp(prefix="nhbench-dind-"))
    try:
        cleanup(workdir)
        workdir.mkdir()
        build_levels(workdir, args.dind_image)
        size = image_size_mb(args.image)
        seed1 = seed([], L1, args.image)
        seed2 = seed(["docker", "exec", L1], L2, args.image)

        levels = {
            1: ([], sys.executable),
            2: (["docker", "exec", L1], "python3"),
            3: (["docker", "exec", L1, "docker", "exec", L2], "python3"),
        }
        # Interleaved rounds (depth 1, 2, 3, then again): a load change on the shared machine
        # hits every depth alike instead of whichever depth happened to run at that moment.
        for prefix, python in levels.values():
            time_runs(prefix, python, args.image, 0, warm_up=True)
        samples: dict[int, list[float]] = {depth: [] for depth in levels}
        for _round in range(args.runs):
            for depth, (prefix, python) in levels.items():
                samples[depth] += time_runs(prefix, python, args.image, 1, warm_up=False)
        medians: dict[int, float] = {}
        for depth, values in samples.items():
            medians[depth] = statistics.median(values)
            shown = " ".join(f"{v:.3f}" for v in values)
            print(
                f"depth {depth}: median {medians[depth]:.3f} s over {len(values)} runs of "
                f"'docker run --rm {args.image} true' (samples: {shown})"
            )
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average (1/5/15 min) after the runs: {load} on {os.cpu_count()} CPUs")
        ratio = medians[3] / medians[1]
        verdict = "meets" if ratio <= GOAL else "misses"
        print(f"ratio depth3/depth1: {ratio:.2f} ({verdict} the goal <= {GOAL})")
        print(f"ratio depth2/depth1: {medians[2] / medians[1]:.2f}")
        print(
            f"seed {args.image} ({size:.0f} MB): host -> depth-1 daemon {seed1:.1f} s, "
            f"depth-1 -> depth-2 daemon {seed2:.1f} s"
        )
    finally:
        cleanup(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
