# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure kind/kicbase-style systemd nodes (nested.hosts.node_image / nested.hosts.node).

Run from the repository root:  .venv/bin/python benchmarks/bench_node.py [--image IMG] [--rounds N] [--fleet N]

1. Ready time of one node: from ``docker run -d`` to systemd ``running``/``degraded`` and dockerd
   answering inside (the image's ``nested-hosts-node-ready`` probe), median of N rounds, against a
   bare ``docker run --rm --entrypoint true IMAGE`` on the same host. Goal: ratio <= 3.
2. N nodes (default 10) started in parallel until all are ready, against the single-node median.
   Goal: ratio <= 4 on 2 cores.
3. Idle memory per node read from its memory cgroup after the fleet has been idle a while:
   usage, working set (usage - inactive file cache, what ``docker stats`` shows) and RSS. Goal:
   working set <= 60 MB.
4. After removal: memory cgroups of the removed nodes left behind (should be 0).

The container options are the ones nested.hosts.nesting_facts recommends for this host (the same
the node role uses), in their docker CLI form. Every object is named nhbench-node-* and removed
at the end, also on failure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIX = "nhbench-node-"
PROBE = "until /usr/local/bin/nested-hosts-node-ready >/dev/null 2>&1; do sleep 0.05; done"


def _import_collection() -> None:
    root = Path(tempfile.mkdtemp(prefix="nh-bench-"))
    (root / "ansible_collections" / "nested").mkdir(parents=True)
    os.symlink(REPO, root / "ansible_collections" / "nested" / "hosts")
    sys.path.insert(0, str(root))


_import_collection()
from ansible_collections.nested.hosts.plugins.module_utils import _nesting


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LANG="C")
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout, env=env)


def run_flags(proc_root: str, sys_root: str) -> list[str]:
    facts, _warnings = _nesting.gather(proc_root, sys_root)
    if facts.get("profile") not in ("privileged", "privileged-equivalent"):
        raise SystemExit(f"nesting_facts gives profile {facts.get('profile')!r}: this host cannot run nodes")
    return list(facts["recommended_run_flags"])


def node_run_args(name: str, image: str, flags: list[str]) -> list[str]:
    return [
        "run", "-d", "--name", name, "--hostname", name, *flags,
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
        "-v", f"{name}-docker:/var/lib/docker", "--label", "io.nested-hosts.role=bench-node", image,
    ]  # fmt: skip


def start_and_wait(name: str, image: str, flags: list[str], timeout: float) -> float:
    """Seconds from docker run to the readiness probe succeeding inside the node."""
    started = time.monotonic()
    docker(*node_run_args(name, image, flags))
    docker("exec", name, "timeout", str(int(timeout)), "sh", "-c", PROBE, timeout=timeout + 30)
    return time.monotonic() - started


def remove(names: list[str]) -> None:
    if not names:
        return
    docker("rm", "-f", *names, check=False, timeout=600)
    docker("volume", "rm", *[f"{n}-docker" for n in names], check=False)


def memory_cgroup_dir(container_id: str, sys_root: str) -> Path | None:
    base = Path(sys_root) / "fs" / "cgroup"
    for candidate in (
        base / "memory" / "docker" / container_id,  # v1, cgroupfs driver
        base / "memory" / "system.slice" / f"docker-{container_id}.scope",  # v1, systemd driver
        base / "docker" / container_id,  # v2, cgroupfs driver
        base / "system.slice" / f"docker-{container_id}.scope",  # v2, systemd driver
    ):
        if candidate.is_dir():
            return candidate
    return None


def memory_of(container_id: str, sys_root: str) -> dict[str, float]:
    """usage, working set and RSS in MiB read from the container's memory cgroup."""
    cg = memory_cgroup_dir(container_id, sys_root)
    if cg is None:
        raise SystemExit(f"no memory cgroup found for container {container_id[:12]} under {sys_root}/fs/cgroup")
    stat = dict(line.split() for line in (cg / "memory.stat").read_text().splitlines())
    if (cg / "memory.usage_in_bytes").exists():  # v1
        usage = int((cg / "memory.usage_in_bytes").read_text())
        inactive = int(stat.get("total_inactive_file", 0))
        rss = int(stat.get("total_rss", 0))
    else:  # v2
        usage = int((cg / "memory.current").read_text())
        inactive = int(stat.get("inactive_file", 0))
        rss = int(stat.get("anon", 0))
    mib = 1024 * 1024
    return {"usage": usage / mib, "working_set": (usage - inactive) / mib, "rss": rss / mib}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", default="nested-hosts/node:bookworm", help="node image (nested.hosts.node_image)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds for the single-node median (>= 5)")
    parser.add_argument("--fleet", type=int, default=10, help="nodes started in parallel")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds the fleet idles before memory is read")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a node may take to get ready")
    parser.add_argument("--proc-root", default="/proc")
    parser.add_argument("--sys-root", default="/sys")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5 (the figure is a median of >= 5 runs)")
    if args.fleet < 2:
        parser.error("--fleet must be at least 2")

    if docker("image", "inspect", args.image, check=False).returncode != 0:
        print(f"SKIP bench_node: image {args.image} is missing; build it with the nested.hosts.node_image role")
        return 0
    flags = run_flags(args.proc_root, args.sys_root)
    leftovers = docker("ps", "-aq", "--filter", f"name=^{PREFIX}").stdout.split()
    if leftovers:
        raise SystemExit(f"containers named {PREFIX}* exist already ({len(leftovers)}); remove them first")
    print(f"image {args.image}; flags from nesting_facts: {' '.join(flags)}")

    created: list[str] = []
    try:
        bare, single = [], []
        for i in range(args.rounds):
            t0 = time.monotonic()
            docker("run", "--rm", "--entrypoint", "true", args.image)
            bare.append(time.monotonic() - t0)
            name = f"{PREFIX}single-{i}"
            created.append(name)
            single.append(start_and_wait(name, args.image, flags, args.timeout))
            remove([name])
            created.remove(name)
        bare_med, single_med = statistics.median(bare), statistics.median(single)
        print(f"bare docker run --rm true: median {bare_med:.2f} s  ({', '.join(f'{x:.2f}' for x in bare)})")
        print(f"node ready (systemd + dockerd): median {single_med:.2f} s  ({', '.join(f'{x:.2f}' for x in single)})")
        print(f"ratio node/bare: {single_med / bare_med:.2f}  (goal <= 3)")

        names = [f"{PREFIX}fleet-{i}" for i in range(1, args.fleet + 1)]
        created.extend(names)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.fleet) as pool:
            per_node = list(pool.map(lambda n: start_and_wait(n, args.image, flags, args.timeout), names))
        fleet_time = time.monotonic() - t0
        print(f"{args.fleet} nodes in parallel, all ready: {fleet_time:.2f} s  (slowest node {max(per_node):.2f} s)")
        print(f"ratio {args.fleet} nodes / 1 node: {fleet_time / single_med:.2f}  (goal <= 4)")

        time.sleep(args.idle)
        ids = {n: docker("inspect", "--format", "{{.Id}}", n).stdout.strip() for n in names}
        mem = [memory_of(cid, args.sys_root) for cid in ids.values()]
        for key in ("usage", "working_set", "rss"):
            values = [m[key] for m in mem]
            print(
                f"idle memory per node, {key}: median {statistics.median(values):.1f} MiB"
                f" (min {min(values):.1f}, max {max(values):.1f})"
            )
        print("goal: working set <= 60 MB")

        remove(names)
        created = [n for n in created if n not in names]
        leaked = [n for n, cid in ids.items() if memory_cgroup_dir(cid, args.sys_root) is not None]
        print(f"memory cgroups left after removing {len(names)} nodes: {len(leaked)}")
    finally:
        remove(created)
    return 0


if __name__ == "__main__":
    sys.exit(main())
