# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure kind/kicbase-style systemd nodes (nested.hosts.node_image / nested.hosts.node).

Run from the repository root:
  .venv/bin/python benchmarks/bench_node.py [--baseline-ref REF] [--image IMG [--image IMG2 ...]] [--rounds N]
      [--fleet N] [--idle-nodes N]

With several ``--image`` values every figure is measured for each image in the same run (the
single-node rounds alternate between the images), and the last image is compared with the first:
give the image before a change first and the image after it last. ``--baseline-ref REF`` builds the
image before from the collection as it was at git commit REF (its own node_image role, in a
temporary worktree, as ``nhbench-node-before:<commit>``, removed at the end) and measures it first.

1. One node, median of N rounds: ready time, from ``docker run -d`` to systemd
   ``running``/``degraded`` and dockerd answering inside (the image's ``nested-hosts-node-ready``
   probe), against a bare ``docker run --rm --entrypoint true IMAGE`` (goal: ratio <= 3); and the
   CPU-seconds the boot cost until then, split into
   - the node's own cgroup (cgroup v1 ``cpuacct.usage``, cgroup v2 ``cpu.stat`` ``usage_usec``),
     which holds everything that runs in the node, its entrypoint, systemd and its units, and
   - the host daemons' share: the rise of utime+stime (with reaped children: runc, hooks) of the
     host's dockerd and containerd, plus the node's containerd shim.
   Goal: last image / first image <= 0.60 (40% less boot work).
   The wait blocks in ``systemctl is-system-running --wait`` and then runs the probe, so that the
   measurement itself adds little and the same to every image.
2. N nodes (default 10; ``--fleet 0`` skips) started at once until all are ready: wall time against the CPU floor,
   N x one node's CPU-seconds / cores, the time the boots would take if they only had to share the
   cores (goal: ratio <= 1.25); and the CPU-seconds the fleet used per node against one node alone.
3. ``--idle-nodes`` nodes (default 50) started at once, timed against the CPU floor as in 2; then
   idle memory per node read from its memory cgroup after they have idled a while: usage, working
   set (usage - inactive file cache, what ``docker stats`` shows) and RSS. Goal: working set <= 40 MB.
4. After removal: memory cgroups of the removed nodes left behind (should be 0).

CPU-seconds come from cgroup and /proc accounting and stay right on a loaded machine; wall times
do not, so the load average is printed beside them. The container options are the ones
nested.hosts.nesting_facts recommends for this host (the same the node role uses), in their docker
CLI form. Every object is named nhbench-node-* and removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it

REPO = Path(__file__).resolve().parent.parent
PREFIX = "nhbench-node-"
# Block until systemd has finished starting (no polling cost), then run the image's probe.
PROBE = (
    'until s=$(systemctl is-system-running --wait 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ];'
    " do sleep 0.1; done;"
    " until /usr/local/bin/nested-hosts-node-ready >/dev/null 2>&1; do sleep 0.1; done"
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


_bench.import_collection()
from ansible_collections.nested.hosts.plugins.module_utils import _nesting


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LANG="C")
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout, env=env)


BASELINE_PLAY = """---
- name: The node image as the collection built it at the baseline commit
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: nested.hosts.node_image
"""


def baseline_image_name(commit: str) -> str:
    """The tag a baseline commit's node image is built under (PREFIX, so the clean-up finds it)."""
    return f"{PREFIX}before:{commit[:12]}"


def build_baseline(ref: str) -> str:
    """Build the node image of git commit REF with that commit's own node_image role; return its name."""
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{ref}^{{commit}}"],
                         capture_output=True, text=True, check=False)
    if rev.returncode:
        raise SystemExit(f"--baseline-ref {ref}: not a commit of this repository ({rev.stderr.strip()})")
    commit = rev.stdout.strip()
    image = baseline_image_name(commit)
    work = Path(tempfile.mkdtemp(prefix="nhbench-node-baseline-"))
    tree = work / "tree"
    try:
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit],
                       capture_output=True, text=True, check=True)
        _bench.link_collection(work, tree)
        (work / "play.yml").write_text(BASELINE_PLAY, encoding="utf-8")
        name, tag = image.split(":")
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=f"{work}:{os.environ.get('ANSIBLE_COLLECTIONS_PATH', '')}",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
        playbook = Path(sys.executable).with_name("ansible-playbook")
        proc = subprocess.run(
            [str(playbook), "-i", "localhost,", str(work / "play.yml"), "-e", f"ansible_python_interpreter={sys.executable}",
             "-e", f"node_image_name={name}", "-e", f"node_image_tag={tag}",
             "-e", f"node_image_build_dir={work / 'context'}"],
            capture_output=True, text=True, check=False, env=env, cwd=tree)
        if proc.returncode:
            tail = "\n".join(proc.stdout.splitlines()[-30:])
            raise SystemExit(f"building the node image of {commit[:12]} failed:\n{tail}")
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True,
                       check=False)
        shutil.rmtree(work, ignore_errors=True)
    return image


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


# --- Accounting -------------------------------------------------------------------------------


def proc_cpu_seconds(pid: int, proc_root: str, children: bool = True) -> float:
    """utime + stime of a process (fields 14-15 of /proc/PID/stat) and, with children, those of
    its reaped children (fields 16-17)."""
    try:
        text = (Path(proc_root) / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    fields = text.rpartition(")")[2].split()  # fields[0] is field 3 (state)
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / CLK_TCK


def _cmdline(pid: str, proc_root: str) -> list[str]:
    try:
        return (Path(proc_root) / pid / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def host_daemon_pids(proc_root: str) -> list[int]:
    """PIDs of the host's dockerd and containerd: those in this process's mount namespace (the
    daemons inside nodes and dind containers run in their own)."""
    own_ns = os.readlink(Path(proc_root) / "self" / "ns" / "mnt")
    pids = []
    for entry in Path(proc_root).iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            if comm in ("dockerd", "containerd") and os.readlink(entry / "ns" / "mnt") == own_ns:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def shim_pids(container_id: str, proc_root: str) -> list[int]:
    """The containerd shim(s) of one container (``containerd-shim* ... -id <container id>``)."""
    found = []
    for entry in Path(proc_root).iterdir():
        if entry.name.isdigit():
            argv = _cmdline(entry.name, proc_root)
            if argv and "containerd-shim" in argv[0] and container_id in argv:
                found.append(int(entry.name))
    return found


def host_daemons_seconds(pids: list[int], proc_root: str, children: bool = True) -> float:
    return sum(proc_cpu_seconds(pid, proc_root, children) for pid in pids)


def _container_cgroup_dir(container_id: str, sys_root: str, controllers: tuple[str, ...]) -> Path | None:
    base = Path(sys_root) / "fs" / "cgroup"
    candidates = []
    for controller in controllers:  # cgroup v1: one hierarchy per controller
        candidates += [
            base / controller / "docker" / container_id,  # cgroupfs driver
            base / controller / "system.slice" / f"docker-{container_id}.scope",  # systemd driver
        ]
    candidates += [  # cgroup v2: the unified hierarchy
        base / "docker" / container_id,
        base / "system.slice" / f"docker-{container_id}.scope",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def cpu_cgroup_dir(container_id: str, sys_root: str) -> Path | None:
    return _container_cgroup_dir(container_id, sys_root, ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"))


def cpu_seconds_of(container_id: str, sys_root: str) -> float:
    """CPU-seconds used in the container's cgroup, its descendants included."""
    cg = cpu_cgroup_dir(container_id, sys_root)
    if cg is None:
        raise SystemExit(f"no cpu cgroup found for container {container_id[:12]} under {sys_root}/fs/cgroup")
    if (cg / "cpuacct.usage").exists():  # v1, nanoseconds
        return int((cg / "cpuacct.usage").read_text()) / 1e9
    stat = dict(line.split() for line in (cg / "cpu.stat").read_text().splitlines())  # v2
    return int(stat["usage_usec"]) / 1e6


def memory_cgroup_dir(container_id: str, sys_root: str) -> Path | None:
    return _container_cgroup_dir(container_id, sys_root, ("memory",))


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


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cores() -> int:
    return len(os.sched_getaffinity(0))


def machine_busy_seconds(proc_root: str) -> float:
    """CPU-seconds all cores spent busy since boot (/proc/stat, everything but idle and iowait)."""
    for line in (Path(proc_root) / "stat").read_text().splitlines():
        if line.startswith("cpu "):
            ticks = [int(x) for x in line.split()[1:]]
            return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK
    return 0.0


def children_seconds() -> float:
    """CPU-seconds of this process's reaped children: the docker CLI processes of the harness."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- Nodes ------------------------------------------------------------------------------------


@dataclass
class Boot:
    name: str
    container_id: str = ""
    ready_s: float = 0.0
    node_cpu_s: float = 0.0
    shim_cpu_s: float = 0.0
    shim_own_s: float = 0.0


def start_and_wait(name: str, image: str, flags: list[str], timeout: float, proc_root: str, sys_root: str) -> Boot:
    """Start a node, wait until the readiness probe succeeds inside, read its CPU accounting then."""
    boot = Boot(name)
    started = time.monotonic()
    boot.container_id = docker(*node_run_args(name, image, flags)).stdout.strip()
    docker("exec", name, "timeout", str(int(timeout)), "sh", "-c", PROBE, timeout=timeout + 30)
    boot.ready_s = time.monotonic() - started
    boot.node_cpu_s = cpu_seconds_of(boot.container_id, sys_root)
    shims = shim_pids(boot.container_id, proc_root)
    boot.shim_cpu_s = sum(proc_cpu_seconds(p, proc_root) for p in shims)
    boot.shim_own_s = sum(proc_cpu_seconds(p, proc_root, children=False) for p in shims)
    return boot


def remove(names: list[str]) -> None:
    if not names:
        return
    for i in range(0, len(names), 20):
        chunk = names[i : i + 20]
        docker("rm", "-f", *chunk, check=False, timeout=600)
        docker("volume", "rm", *[f"{n}-docker" for n in chunk], check=False)


@dataclass
class ImageFigures:
    image: str
    tag: str
    bare: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)
    node_cpu: list[float] = field(default_factory=list)
    host_cpu: list[float] = field(default_factory=list)
    host_own: list[float] = field(default_factory=list)
    fleet_cpu_per_node: float = 0.0
    working_set: float = 0.0

    def cpu(self) -> float:
        return statistics.median(n + h for n, h in zip(self.node_cpu, self.host_cpu))


def fmt(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


class Bench:
    def __init__(self, args: argparse.Namespace, flags: list[str]) -> None:
        self.args = args
        self.flags = flags
        self.created: list[str] = []
        self.daemons = host_daemon_pids(args.proc_root)

    def boot(self, name: str, image: str) -> Boot:
        self.created.append(name)
        return start_and_wait(name, image, self.flags, self.args.timeout, self.args.proc_root, self.args.sys_root)

    def discard(self, names: list[str]) -> None:
        remove(names)
        self.created = [n for n in self.created if n not in names]

    def single(self, fig: ImageFigures, i: int) -> None:
        t0 = time.monotonic()
        docker("run", "--rm", "--entrypoint", "true", fig.image)
        fig.bare.append(time.monotonic() - t0)
        before = host_daemons_seconds(self.daemons, self.args.proc_root)
        before_own = host_daemons_seconds(self.daemons, self.args.proc_root, children=False)
        boot = self.boot(f"{PREFIX}{fig.tag}-single-{i}", fig.image)
        host = host_daemons_seconds(self.daemons, self.args.proc_root) - before + boot.shim_cpu_s
        own = host_daemons_seconds(self.daemons, self.args.proc_root, children=False) - before_own + boot.shim_own_s
        fig.host_own.append(own)
        fig.ready.append(boot.ready_s)
        fig.node_cpu.append(boot.node_cpu_s)
        fig.host_cpu.append(host)
        self.discard([boot.name])

    def at_once(self, fig: ImageFigures, names: list[str]) -> tuple[float, list[Boot]]:
        """Start ``names`` all at once and wait until every one is ready; print the wall time against
        the CPU floor (n x one node's CPU-seconds / cores) and where the cores' time went."""
        n = len(names)
        load = load_average()
        before = host_daemons_seconds(self.daemons, self.args.proc_root)
        busy0, cli0 = machine_busy_seconds(self.args.proc_root), children_seconds()
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=n) as pool:
            boots = list(pool.map(lambda name: self.boot(name, fig.image), names))
        wall = time.monotonic() - t0
        busy, cli = machine_busy_seconds(self.args.proc_root) - busy0, children_seconds() - cli0
        host = host_daemons_seconds(self.daemons, self.args.proc_root) - before + sum(b.shim_cpu_s for b in boots)
        fleet_cpu = sum(b.node_cpu_s for b in boots) + host
        floor = n * fig.cpu() / cores()
        print(
            f"  {n} nodes at once, all ready: {wall:.2f} s (slowest {max(b.ready_s for b in boots):.2f} s);"
            f" CPU floor {n} x {fig.cpu():.3f} CPU-s / {cores()} cores = {floor:.2f} s; load average before: {load}"
        )
        print(f"  ratio {n} nodes / CPU floor: {wall / floor:.2f}  (goal <= 1.25)")
        print(
            f"  CPU-s per node in the fleet: {fleet_cpu / n:.3f} (node {sum(b.node_cpu_s for b in boots) / n:.3f}"
            f" + host daemons {host / n:.3f}); against one node alone: {fleet_cpu / n / fig.cpu():.2f}"
        )
        others = busy - fleet_cpu - cli
        print(
            f"  while the fleet started the cores were busy {busy:.2f} CPU-s of {wall * cores():.2f}:"
            f" the nodes and host daemons {fleet_cpu:.2f}, the harness's docker CLI processes {cli:.2f},"
            f" everything else on the machine {others:.2f}"
        )
        if others > 0:
            own = wall * (1 - others / (wall * cores()))
            print(
                f"  the same without the rest of the machine's work (wall time less its share of the cores,"
                f" an estimate): {own:.2f} s, ratio to the CPU floor {own / floor:.2f}"
            )
        return fleet_cpu / n, boots

    def fleet(self, fig: ImageFigures) -> None:
        names = [f"{PREFIX}{fig.tag}-fleet-{i}" for i in range(1, self.args.fleet + 1)]
        fig.fleet_cpu_per_node, _boots = self.at_once(fig, names)
        self.discard(names)

    def memory(self, fig: ImageFigures) -> None:
        n = self.args.idle_nodes
        names = [f"{PREFIX}{fig.tag}-idle-{i}" for i in range(1, n + 1)]
        _per_node, boots = self.at_once(fig, names)
        time.sleep(self.args.idle)
        mem = [memory_of(b.container_id, self.args.sys_root) for b in boots]
        print(f"  {n} idle nodes, {self.args.idle:.0f} s after the last was ready (load average {load_average()}):")
        for key in ("usage", "working_set", "rss"):
            values = [m[key] for m in mem]
            print(
                f"    memory per node, {key}: median {statistics.median(values):.1f} MiB"
                f" (min {min(values):.1f}, max {max(values):.1f})"
            )
        fig.working_set = statistics.median(m["working_set"] for m in mem)
        print(
            f"  working set per idle node: {fig.working_set:.1f} MiB = {fig.working_set * 1.048576:.1f} MB  (goal <= 40 MB)"
        )
        self.discard(names)
        leaked = [b.name for b in boots if memory_cgroup_dir(b.container_id, self.args.sys_root) is not None]
        print(f"  memory cgroups left after removing {n} nodes: {len(leaked)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--image", action="append", help="node image (nested.hosts.node_image); repeat to compare, first = before"
    )
    parser.add_argument("--baseline-ref", help="git commit whose node image is measured first (built from it)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds for the single-node medians (>= 5)")
    parser.add_argument("--fleet", type=int, default=10, help="nodes started at once (0: skip)")
    parser.add_argument("--idle-nodes", type=int, default=50, help="nodes whose idle memory is read (0: skip)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds the idle nodes idle before memory is read")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds a node may take to get ready")
    parser.add_argument("--proc-root", default="/proc")
    parser.add_argument("--sys-root", default="/sys")
    args = parser.parse_args()
    images = args.image or ["nested-hosts/node:bookworm"]
    if args.rounds < 5:
        parser.error("--rounds must be at least 5 (the figure is a median of >= 5 runs)")
    if args.fleet == 1 or args.fleet < 0:
        parser.error("--fleet must be 0 (skip) or at least 2")

    missing = [i for i in images if docker("image", "inspect", i, check=False).returncode != 0]
    if missing:
        print(
            f"SKIP bench_node: image(s) {', '.join(missing)} missing; build them with the nested.hosts.node_image role"
        )
        return 0
    baseline = None
    if args.baseline_ref:
        baseline = build_baseline(args.baseline_ref)
        print(f"baseline: {baseline}, built by the node_image role of {args.baseline_ref}")
        images = [baseline, *images]
    try:
        return measure(args, images)
    finally:
        if baseline:
            docker("image", "rm", "-f", baseline, check=False)


def measure(args: argparse.Namespace, images: list[str]) -> int:
    flags = run_flags(args.proc_root, args.sys_root)
    leftovers = docker("ps", "-aq", "--filter", f"name=^{PREFIX}").stdout.split()
    if leftovers:
        raise SystemExit(f"containers named {PREFIX}* exist already ({len(leftovers)}); remove them first")
    bench = Bench(args, flags)
    print(f"flags from nesting_facts: {' '.join(flags)}")
    print(f"{cores()} cores; host daemons measured: pids {bench.daemons}; load average at start: {load_average()}")
    figs = [ImageFigures(image, f"i{k}") for k, image in enumerate(images)]
    try:
        for i in range(args.rounds):  # alternate the images so that drift in the load hits all alike
            for fig in figs:
                bench.single(fig, i)
        for fig in figs:
            print(f"image {fig.image}:")
            bare_med, ready_med = statistics.median(fig.bare), statistics.median(fig.ready)
            print(f"  bare docker run --rm true: median {bare_med:.2f} s  ({fmt(fig.bare)})")
            print(f"  node ready (systemd + dockerd): median {ready_med:.2f} s  ({fmt(fig.ready)})")
            print(f"  ratio node/bare: {ready_med / bare_med:.2f}  (goal <= 3)")
            print(
                f"  CPU-s per node boot: median {fig.cpu():.3f} = node cgroup {statistics.median(fig.node_cpu):.3f}"
                f" ({fmt(fig.node_cpu)}) + host daemons {statistics.median(fig.host_cpu):.3f} ({fmt(fig.host_cpu)})"
            )
            print(
                f"    host daemons without their reaped children (runc, hooks): median {statistics.median(fig.host_own):.3f}"
                f" ({fmt(fig.host_own)}); node cgroup + that: {statistics.median(fig.node_cpu) + statistics.median(fig.host_own):.3f}"
            )
        if args.fleet > 0:
            for fig in figs:
                print(f"image {fig.image}:")
                bench.fleet(fig)
        if args.idle_nodes > 0:
            for fig in figs:
                print(f"image {fig.image}:")
                bench.memory(fig)
    finally:
        remove(bench.created)

    first, last = figs[0], figs[-1]
    print(f"summary, {last.image} against {first.image}:")
    if len(figs) < 2:
        print("  CPU-s per boot last/first: not measured (one --image given; pass the image before a change first)")
    else:
        print(f"  ratio CPU-s per node boot last/first: {last.cpu() / first.cpu():.2f}  (goal <= 0.60)")
        without_children = (statistics.median(last.node_cpu) + statistics.median(last.host_own)) / (
            statistics.median(first.node_cpu) + statistics.median(first.host_own))
        print(
            f"    node cgroup {statistics.median(last.node_cpu) / statistics.median(first.node_cpu):.2f},"
            f" host daemons {statistics.median(last.host_cpu) / statistics.median(first.host_cpu):.2f};"
            f" node cgroup + host daemons without children"
            f" {without_children:.2f}"
        )
        print(f"  ratio ready time last/first: {statistics.median(last.ready) / statistics.median(first.ready):.2f}")
        if args.idle_nodes > 0 and first.working_set:
            print(f"  ratio idle working set last/first: {last.working_set / first.working_set:.2f}")
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
