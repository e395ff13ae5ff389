# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A module run at depth 3 through the nested.hosts.nested chain against the same module at depth 1.

Run from the repository root:  .venv/bin/python benchmarks/bench_chain.py [--rounds R] [--tasks K] [--runs N]

Uses the demo's levels read-only (``make demo``): depth 1 is nhdemo-node-1 (one ``docker exec``),
depth 3 is nhdemo-node-1 > nhdemo-dind-1 > nhdemo-d3 (three). Prints a clear SKIP and exits 0
when they are absent.

* module run (the issue's figure): one ansible-playbook run, pipelining on, one fork, R rounds of
  a play of K ``ansible.builtin.ping`` tasks at depth 1 followed by the same play at depth 3 (so
  load changes on a shared machine hit both depths alike); the first round is a warm-up. The
  duration of each task (from the ansible.posix.json callback: what a user waits for per task,
  controller work included) gives a median per depth.
* chain only: the plugin's ``exec_command("true")`` in this process, N times per depth,
  alternating; what the hops themselves cost, without Python or Ansible in the container.

Prints both medians per depth and the ratios depth3/depth1 (goal for the module run: <= 1.5).
Writes nothing outside a temporary directory, which it removes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import yaml

import _bench  # benchmarks/ is on the path of a script run from it

REPO = Path(__file__).resolve().parent.parent
DEMO = ["nhdemo-node-1", "nhdemo-dind-1", "nhdemo-d3"]
DEPTHS = {1: DEMO[:1], 3: DEMO}
GOAL = 1.5


COLLECTIONS_ROOT = _bench.import_collection()
from ansible import constants as C
from ansible.playbook.play_context import PlayContext
from ansible_collections.nested.hosts.plugins.connection import nested as plugin
from ansible_collections.nested.hosts.plugins.module_utils import _chain


def missing_levels() -> str | None:
    """None when the depth-3 chain answers, else the reason."""
    argv = _chain.hop_argv(_chain.FirstHop(), DEMO, ["true"], interactive=False)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode:
        return f"the demo's levels {' > '.join(DEMO)} do not answer (run `make demo` first): {proc.stderr.strip()}"
    return None


def module_runs(workdir: Path, rounds: int, tasks: int) -> dict[int, list[float]]:
    """Per-task durations (s) of ansible.builtin.ping at each depth, warm-up round left out."""
    hosts = {f"depth{d}": {"ansible_nested_chain": chain} for d, chain in DEPTHS.items()}
    inventory = workdir / "inventory.yml"
    common = {"ansible_connection": "nested.hosts.nested", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory.write_text(yaml.safe_dump({"all": {"vars": common, "hosts": hosts}}))
    plays = []
    for round_no in range(rounds + 1):
        for depth in DEPTHS:
            plays.append(
                {
                    "name": f"round {round_no} depth {depth}",
                    "hosts": f"depth{depth}",
                    "gather_facts": False,
                    "tasks": [{"name": f"ping {i}", "ansible.builtin.ping": {}} for i in range(tasks)],
                }
            )
    playbook = workdir / "bench.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_PIPELINING="1",
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
        ANSIBLE_RETRY_FILES_ENABLED="0",
        LANG="C.UTF-8",
    )
    argv = [_bench.tool("ansible-playbook"), "-f", "1", "-i", str(inventory), str(playbook)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=workdir)
    try:
        out = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        raise SystemExit(
            f"the benchmark playbook printed no json (rc {proc.returncode}):\n{proc.stderr[-2000:]}"
        ) from None
    if proc.returncode:
        bad = [
            f"{play['play']['name']} / {task['task']['name']}: {result.get('msg') or result}"
            for play in out["plays"]
            for task in play["tasks"]
            for result in task["hosts"].values()
            if result.get("failed") or result.get("unreachable")
        ]
        raise SystemExit(
            f"the benchmark playbook failed (rc {proc.returncode}):\n" + "\n".join(bad or [proc.stderr[-2000:]])
        )
    durations: dict[int, list[float]] = {d: [] for d in DEPTHS}
    for play in out["plays"]:
        name = play["play"]["name"]
        if name.startswith("round 0 "):
            continue
        depth = int(name.rsplit(" ", 1)[1])
        for task in play["tasks"]:
            span = task["task"]["duration"]
            start, end = (datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("start", "end"))
            durations[depth].append((end - start).total_seconds())
    return durations


def chain_only(runs: int) -> dict[int, list[float]]:
    """exec_command("true") through the plugin, alternating depths, one warm-up each."""
    if not C.config.has_configuration_definition("connection", _chain.CONNECTION_NAME):
        options = yaml.safe_load(plugin.DOCUMENTATION)["options"]
        C.config.initialize_plugin_configuration_definitions("connection", _chain.CONNECTION_NAME, options)
    conns = {}
    for depth, chain in DEPTHS.items():
        conn = plugin.Connection(PlayContext())
        conn._load_name = _chain.CONNECTION_NAME
        conn.set_options(var_options={"ansible_nested_chain": chain})
        conn.exec_command("true")
        conns[depth] = conn
    out: dict[int, list[float]] = {d: [] for d in DEPTHS}
    for _round in range(runs):
        for depth, conn in conns.items():
            start = time.monotonic()
            rc, _stdout, stderr = conn.exec_command("true")
            out[depth].append(time.monotonic() - start)
            if rc:
                raise SystemExit(f"exec_command at depth {depth} failed: {stderr!r}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=4, help="measured rounds of the module run (plus one warm-up)")
    parser.add_argument("--tasks", type=int, default=5, help="ping tasks per depth and round")
    parser.add_argument("--runs", type=int, default=30, help="exec_command runs per depth")
    args = parser.parse_args()
    why = missing_levels()
    if why:
        print(f"SKIP: {why}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="nhbench-chain-"))
    try:
        modules = module_runs(workdir, args.rounds, args.tasks)
        hops = chain_only(args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(COLLECTIONS_ROOT, ignore_errors=True)
    print(f"chain depth 1: {' > '.join(DEPTHS[1])};  depth 3: {' > '.join(DEPTHS[3])}")
    for title, figures in (
        ("module run (ansible.builtin.ping task, pipelined)", modules),
        ("chain only (exec_command true)", hops),
    ):
        med = {d: statistics.median(v) for d, v in figures.items()}
        print(f"{title}:")
        for depth, values in figures.items():
            print(
                f"  depth {depth}: median {med[depth] * 1000:.0f} ms over {len(values)} (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"
            )
        ratio = med[3] / med[1]
        if figures is modules:
            verdict = "meets" if ratio <= GOAL else "misses"
            print(f"  ratio depth3/depth1: {ratio:.2f} ({verdict} the goal <= {GOAL})")
        else:
            print(f"  ratio depth3/depth1: {ratio:.2f} (each extra hop: {(med[3] - med[1]) / 2 * 1000:.0f} ms)")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average (1/5/15 min) after the runs: {load} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
