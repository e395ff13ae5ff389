# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nesting cost on a modern host: a Debian trixie guest (systemd 257, cgroup v2, AppArmor).

Run from the repository root:  .venv/bin/python benchmarks/bench_guest.py [--rounds N] [--reuse]

The levels are the modern_host Molecule scenario's (the guest from scripts/hostlab.py, dind level 1
on it, level 2 inside that, and a trixie node, made by the collection's roles): without ``--reuse`` this
runs ``molecule create`` and ``converge`` for it and ``molecule destroy`` at the end; with
``--reuse`` it measures a scenario that is already converged and leaves it up.

Every figure is timed inside the guest by a small timer next to the docker CLI that does the work
(so SSH is not counted), in the same run, rounds interleaved so that load changes hit all alike:

* bare: ``docker run --rm TINY /usr/bin/true`` on the guest's own daemon (the physical limit);
* depth 3: the same run by the daemon of dind level 2 (inside level 1), timed at that level
  (the container it starts is at depth 3 below the guest), and timed from the guest through the
  two ``docker exec`` hops as a playbook would see it;
* node ready: ``docker run -d`` of a node with the running node's options until its readiness
  probe (systemd running, dockerd answering) passes, then removal; against a bare
  ``docker run --rm --entrypoint /usr/bin/true NODE_IMAGE``.

Prints the medians and the ratios depth3/bare and node-ready/bare. Goals: depth 3 <= 1.3x bare
(as on the legacy host, bench_dind.py); node ready <= 3x its bare run (bench_node.py's goal).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO = "modern_host"
NODE = "nhtest-lab-node-1"
DIND_L1 = "nhtest-lab-dind-l1"
DIND_L2 = "nhtest-lab-dind-l2"
TINY = "nhtest-lab/tiny:1"
NODE_IMAGE = "nested-hosts/node:trixie"
BENCH_NODE = "nhbench-guest-node"

# Runs in the guest (and, for depth 3, in dind level 2): times one command N times.
TIMER = r"""
import subprocess, sys, time, json
argv = json.loads(sys.argv[1])
t = time.monotonic()
subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
print(f"{time.monotonic() - t:.4f}")
"""

# Runs in the guest: start a node like the running one, wait for its probe, remove it.
NODE_READY = r"""
import json, subprocess, sys, time
node, image, name = sys.argv[1:4]
info = json.loads(subprocess.check_output(["docker", "inspect", node]))[0]
hc = info["HostConfig"]
argv = ["docker", "run", "-d", "--name", name, "--hostname", name, "-e", "container=docker",
        "--stop-signal", info["Config"].get("StopSignal") or "SIGRTMIN+3", "-v", "/var/lib/docker"]
if hc.get("Privileged"):
    argv.append("--privileged")
if hc.get("CgroupnsMode"):
    argv += ["--cgroupns", hc["CgroupnsMode"]]
for path, opts in (hc.get("Tmpfs") or {}).items():
    argv += ["--tmpfs", f"{path}:{opts}" if opts else path]
for opt in hc.get("SecurityOpt") or []:
    argv += ["--security-opt", opt]
for bind in hc.get("Binds") or []:
    if ":/var/lib/docker" not in bind:
        argv += ["-v", bind]
argv.append(image)
subprocess.run(["docker", "rm", "-fv", name], capture_output=True)
t = time.monotonic()
subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
try:
    while subprocess.run(["docker", "exec", name, "/usr/local/bin/nested-hosts-node-ready"],
                         capture_output=True).returncode != 0:
        if time.monotonic() - t > 900:
            sys.exit(f"{name} was not ready after 900 s")
        time.sleep(0.2)
    print(f"{time.monotonic() - t:.4f}")
finally:
    subprocess.run(["docker", "rm", "-fv", name], capture_output=True)
"""


def _molecule(action: str) -> None:
    exe = Path(sys.executable).with_name("molecule")
    proc = subprocess.run([str(exe) if exe.exists() else "molecule", action, "-s", SCENARIO], cwd=REPO,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"molecule {action} -s {SCENARIO} failed:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")


def _lab_state() -> dict:
    """The hostlab state of the scenario's running guest (in Molecule's ephemeral directory)."""
    pattern = os.path.expanduser(f"~/.ansible/tmp/molecule.*.{SCENARIO}/lab/state.json")
    for path in sorted(glob.glob(pattern), key=os.path.getmtime, reverse=True):
        state = json.loads(Path(path).read_text())
        if all(Path(f"/proc/{g['pid']}").exists() for g in state["guests"]):
            return state
    sys.exit(f"no running guest of the {SCENARIO} scenario ({pattern}); run without --reuse")


class Guest:
    def __init__(self, state: dict) -> None:
        guest = state["guests"][0]
        self.ssh = ["ssh", "-i", state["key_file"], "-p", str(guest["ssh_port"]), "-o", "BatchMode=yes",
                    "-o", f"UserKnownHostsFile={state['known_hosts']}", "-o", "StrictHostKeyChecking=accept-new",
                    "-o", "LogLevel=ERROR", "root@127.0.0.1"]

    def python(self, script: str, *args: str, prefix: tuple[str, ...] = ()) -> float:
        remote = " ".join(shlex.quote(a) for a in [*prefix, "python3", "-c", script, *args])
        proc = subprocess.run([*self.ssh, remote], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit(f"in the guest: {remote[:200]}... failed: {proc.stderr.strip()[-2000:]}")
        return float(proc.stdout.strip().splitlines()[-1])

    def time_run(self, argv: list[str], prefix: tuple[str, ...] = ()) -> float:
        return self.python(TIMER, json.dumps(argv), prefix=prefix)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--node-rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="measure an already converged scenario and keep it")
    args = parser.parse_args()
    if not args.reuse:
        _molecule("create")
        _molecule("converge")
    try:
        guest = Guest(_lab_state())
        run_tiny = ["docker", "run", "--rm", TINY, "/usr/bin/true"]
        in_dind = ("docker", "exec", DIND_L1, "docker", "exec", DIND_L2)
        cases = {
            "bare docker run (guest)": lambda: guest.time_run(run_tiny),
            "depth 3 docker run (timed at depth 2)": lambda: guest.time_run(run_tiny, prefix=in_dind),
            "depth 3 docker run (timed from the guest)": lambda: guest.time_run([*in_dind, *run_tiny]),
        }
        for fn in cases.values():  # warm-up: page cache, image layers, runc binaries
            fn()
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _round in range(args.rounds):
            for key, fn in cases.items():
                times[key].append(fn())
        node_cases = {
            "bare docker run of the node image": lambda: guest.time_run(
                ["docker", "run", "--rm", "--entrypoint", "/usr/bin/true", NODE_IMAGE]),
            "node ready (systemd running, dockerd answering)": lambda: guest.python(
                NODE_READY, NODE, NODE_IMAGE, BENCH_NODE),
        }
        for key in node_cases:
            times[key] = []
        for _round in range(args.node_rounds):
            for key, fn in node_cases.items():
                times[key].append(fn())
        med = {k: statistics.median(v) for k, v in times.items()}
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"guest benchmark ({SCENARIO} scenario levels, medians; controller load {' '.join(load)}):")
        for key, value in med.items():
            print(f"  {key:50s} {value:8.2f} s   (runs: {', '.join(f'{x:.2f}' for x in times[key])})")
        bare = med["bare docker run (guest)"]
        print(f"  ratio depth3/bare (at depth 2)        {med['depth 3 docker run (timed at depth 2)'] / bare:.2f}  (goal <= 1.3)")
        print(f"  ratio depth3/bare (from the guest)    {med['depth 3 docker run (timed from the guest)'] / bare:.2f}")
        node_bare = med["bare docker run of the node image"]
        node_ready = med["node ready (systemd running, dockerd answering)"]
        print(f"  ratio node-ready/bare node run        {node_ready / node_bare:.2f}  (goal <= 3)")
        print(f"  ratio node-ready/bare tiny run        {node_ready / bare:.2f}")
    finally:
        if not args.reuse:
            _molecule("destroy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
