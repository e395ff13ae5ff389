# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak: start and remove N systemd nodes R times with the nested.hosts.node role, then look for leaks.

Run from the repository root (needs the node image, see roles/node_image):

    .venv/bin/python benchmarks/soak_nodes.py [--nodes 20] [--rounds 5] [--image nested-hosts/node:bookworm]

Every round runs the role once with node_state=present (all nodes booted: systemd running and
dockerd answering in each) and once with node_state=absent. Printed per round: the seconds each
step took and the host's MemAvailable before the round, with the nodes up and after removal.
At the end it checks, for the prefix ``nhsoak-``, that no container, volume or network is left,
and that no cgroup directory named after a node container is left under any
``/sys/fs/cgroup/<controller>/docker`` (cgroup v1) or ``/sys/fs/cgroup/system.slice`` (v2).
It also prints the count of directories under ``/sys/fs/cgroup/memory/docker`` before and after
(other users of a shared dockerd move that count too; the per-ID check is the one that decides).
Exit status 1 when something leaked or a step failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "nhsoak"
CGROUP = Path("/sys/fs/cgroup")


def mem_available_mib() -> int:
    with open("/proc/meminfo", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def docker_lines(*args: str) -> list[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def leftovers() -> dict[str, list[str]]:
    return {
        "containers": docker_lines("ps", "-a", "--filter", f"name=^{PREFIX}-", "--format", "{{.Names}}"),
        "volumes": [v for v in docker_lines("volume", "ls", "--format", "{{.Name}}") if v.startswith(f"{PREFIX}-")],
        "networks": [n for n in docker_lines("network", "ls", "--format", "{{.Name}}") if n.startswith(f"{PREFIX}-")],
    }


def cgroup_dirs(ids: set[str]) -> tuple[int, list[str]]:
    """(directories under memory/docker, directories anywhere in the docker/system.slice trees named after ids)."""
    memory = CGROUP / "memory" / "docker"
    count = sum(1 for p in memory.rglob("*") if p.is_dir()) if memory.is_dir() else 0
    found: list[str] = []
    if ids:
        roots = [p / "docker" for p in CGROUP.iterdir() if (p / "docker").is_dir()]
        roots += [CGROUP / "system.slice"] if (CGROUP / "system.slice").is_dir() else []
        for root in roots:
            for entry in root.iterdir():
                name = entry.name.removeprefix("docker-").removesuffix(".scope")
                if entry.is_dir() and name in ids:
                    found.append(str(entry))
    return count, found


def run_role(playbook: Path, extra: dict[str, object], log: Path) -> float:
    argv = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i", "localhost,",
        "-e", "ansible_connection=local",
        "-e", f"ansible_python_interpreter={sys.executable}",
        "-e", json.dumps(extra),
        str(playbook),
    ]  # fmt: skip
    started = time.monotonic()
    with log.open("a") as handle:
        proc = subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"ansible-playbook exited {proc.returncode} after {elapsed:.0f} s; log {log}:\n{tail}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image", default="nested-hosts/node:bookworm")
    parser.add_argument("--wait-timeout", type=int, default=900, help="node_wait_timeout for one round")
    args = parser.parse_args()
    if args.nodes < 1 or args.rounds < 1:
        parser.error("--nodes and --rounds must be at least 1")
    if subprocess.run(["docker", "image", "inspect", args.image], capture_output=True, check=False).returncode:
        print(f"{args.image} is not on this Docker daemon; build it with the node_image role first", file=sys.stderr)
        return 2
    before = leftovers()
    if any(before.values()):
        print(f"objects named {PREFIX}-* exist before the soak, remove them first: {before}", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
    log = work / "ansible.log"
    playbook = work / "soak.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Nodes\n      ansible.builtin.include_role:\n        name: nested.hosts.node\n"
    )
    common = {
        "node_count": args.nodes,
        "node_name_prefix": PREFIX,
        "node_image": args.image,
        "node_wait_timeout": args.wait_timeout,
        "node_groups": [PREFIX],
    }
    cg_count_before, _matching = cgroup_dirs(set())
    mem_start = mem_available_mib()
    print(f"soak: {args.nodes} nodes x {args.rounds} rounds, image {args.image}, log {log}")
    print(f"host MemAvailable at start: {mem_start} MiB; dirs under memory/docker: {cg_count_before}")
    print("round  up_s  down_s  mem_before_MiB  mem_up_MiB  mem_after_MiB  cgroup_dirs_up  leaked")
    seen_ids: set[str] = set()
    failed = False
    for number in range(1, args.rounds + 1):
        mem_before = mem_available_mib()
        try:
            up = run_role(playbook, common | {"node_state": "present"}, log)
            ids = docker_lines("ps", "-q", "--no-trunc", "--filter", f"name=^{PREFIX}-")
            running = len(ids)
            seen_ids.update(ids)
            mem_up = mem_available_mib()
            _total, cg_up = cgroup_dirs(set(ids))
            down = run_role(playbook, common | {"node_state": "absent"}, log)
        except RuntimeError as exc:
            print(f"round {number} failed: {exc}")
            run_role(playbook, common | {"node_state": "absent"}, log)
            failed = True
            break
        mem_after = mem_available_mib()
        left = leftovers()
        leaked = sum(len(v) for v in left.values())
        print(
            f"{number:5d}  {up:4.0f}  {down:6.0f}  {mem_before:14d}  {mem_up:10d}  {mem_after:13d}  {len(cg_up):14d}  {leaked}"
        )
        if not cg_up:
            print("  no cgroup directory named after a running node was found: the cgroup leak check sees nothing here")
            failed = True
        if running != args.nodes:
            print(f"  only {running} of {args.nodes} nodes were running after the present step")
            failed = True
        if leaked:
            print(f"  left behind: {left}")
            failed = True
    time.sleep(2)
    cg_count_after, cg_left = cgroup_dirs(seen_ids)
    mem_end = mem_available_mib()
    left = leftovers()
    print(
        f"containers seen: {len(seen_ids)}; left: containers {left['containers']}, volumes {left['volumes']}, networks {left['networks']}"
    )
    print(f"cgroup dirs named after a node container left: {len(cg_left)} {cg_left[:5]}")
    print(
        f"dirs under memory/docker: {cg_count_before} before, {cg_count_after} after (shared host: others move this too)"
    )
    print(f"host MemAvailable: {mem_start} MiB at start, {mem_end} MiB at end ({mem_end - mem_start:+d} MiB)")
    if cg_left or any(left.values()):
        failed = True
    print("RESULT:", "FAIL" if failed else "no leaks")
    if not failed:
        shutil.rmtree(work, ignore_errors=True)  # kept (with the Ansible log) only when something failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
