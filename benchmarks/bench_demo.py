# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A converged re-run of the demo (`make demo` on a host where it ran already) against a goal and a floor.

Run from the repository root:  .venv/bin/python benchmarks/bench_demo.py [--runs N] [--goal S]

* demo: ``ansible-playbook -i playbooks/inventory/localhost.yml playbooks/demo.yml`` as ``make demo``
  runs it (without ``make setup``), with this checkout as nested.hosts. One warm-up run first,
  which converges the demo when it is not (a first run takes minutes), then N measured runs; each
  must change nothing and fail nothing, or the benchmark fails (it measures a converged host).
* floor: right after each demo run, one ``ansible.builtin.ping`` on every level the demo reaches
  (localhost, the nodes, the dind container, the depth-3 container) through the same connections
  (local, then the nested.hosts.nested chains) with the same settings: what starting Ansible and
  reaching each level once costs, the part of the demo's time no change to its tasks removes.

* baseline (optional, ``--baseline DIR``): another checkout of the collection (for example
  ``git worktree add /tmp/nh-main main``), run the same way from DIR with DIR as nested.hosts,
  before each demo run; prints the ratio demo/baseline (the speed-up of a change, in one run).

* profile: one more converged run (not counted in the medians: the callback adds its own time) with
  ``ansible.posix.profile_tasks`` listing every task; prints the slowest tasks and how the time
  splits between tasks of ``--cheap`` seconds or more (module runs) and the rest (set_fact,
  assert, skipped tasks: Ansible's cost per task header). With ``--baseline`` the baseline is
  profiled the same way, so the profile before and after a change come from one run.
Prints the medians, the tasks (recap ok= and skipped=, summed over hosts), the ratio to the goal
(<= 1 meets it) and the ratio demo/floor. Runs alternate, so load changes on a shared machine hit
all alike. Fails (exit 2), saying why, when docker does not answer.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _bench  # benchmarks/ is on the path of a script run from it

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 20.0
DEMO_ARGV = ["-i", "playbooks/inventory/localhost.yml", "playbooks/demo.yml"]
LEVELS = {
    "nhdemo-node-1": ["nhdemo-node-1"],
    "nhdemo-node-2": ["nhdemo-node-2"],
    "nhdemo-dind-1": ["nhdemo-node-1", "nhdemo-dind-1"],
    "nhdemo-d3": ["nhdemo-node-1", "nhdemo-dind-1", "nhdemo-d3"],
}
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.M,
)
COUNTS = ("ok", "changed", "unreachable", "failed", "skipped")
# profile_tasks' summary line of one task: "<task name> ---------- 1.52s"
PROFILE_LINE = re.compile(r"^(?P<task>\S.*?) -{2,} (?P<seconds>\d+\.\d+)s$", re.M)
PROFILE_ENV = {
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
    "PROFILE_TASKS_SORT_ORDER": "descending",
}


def parse_recap(text: str) -> dict[str, dict[str, int]]:
    """Host -> its PLAY RECAP counts; the last recap line of a host wins."""
    return {m["host"]: {k: int(m[k]) for k in COUNTS} for m in RECAP.finditer(text)}


def parse_profile(text: str) -> list[tuple[str, float]]:
    """(task, seconds) for every task profile_tasks listed, slowest first."""
    rows = [(m["task"], float(m["seconds"])) for m in PROFILE_LINE.finditer(text)]
    return sorted(rows, key=lambda row: row[1], reverse=True)


def profile_summary(rows: list[tuple[str, float]], top: int, cheap: float) -> list[str]:
    """The slowest ``top`` tasks and the split at ``cheap`` seconds, as printable lines."""
    if not rows:
        return ["  no profile_tasks lines in the output"]
    slow = [r for r in rows if r[1] >= cheap]
    rest = [r for r in rows if r[1] < cheap]
    lines = [
        f"  {len(rows)} task headers, {sum(r[1] for r in rows):.1f} s in all: {len(slow)} of {cheap:.2f} s or more"
        f" take {sum(r[1] for r in slow):.1f} s; the other {len(rest)} take {sum(r[1] for r in rest):.1f} s"
        + (f" ({1000 * sum(r[1] for r in rest) / len(rest):.0f} ms each)" if rest else "")
    ]
    lines += [f"  {seconds:6.2f} s  {task}" for task, seconds in rows[:top]]
    return lines


def totals(recap: dict[str, dict[str, int]]) -> dict[str, int]:
    """The recap counts summed over hosts."""
    return {k: sum(host[k] for host in recap.values()) for k in COUNTS}


def converged_problem(recap: dict[str, dict[str, int]]) -> str | None:
    """None when a run changed and failed nothing on every host, else what went wrong."""
    if not recap:
        return "no PLAY RECAP in the output"
    bad = {h: c for h, c in recap.items() if c["changed"] or c["failed"] or c["unreachable"]}
    if bad:
        return "not a converged re-run: " + ", ".join(
            f"{h} changed={c['changed']} failed={c['failed']} unreachable={c['unreachable']}"
            for h, c in sorted(bad.items())
        )
    return None


def changed_tasks(text: str) -> list[str]:
    """'TASK name (host)' for every result a run reported as changed."""
    out, task = [], ""
    for line in text.splitlines():
        if line.startswith("TASK ["):
            task = line[6 : line.index("]")] if "]" in line else line
        elif line.startswith("changed: ["):
            out.append(f"{task} ({line[10 : line.index(']')]})")
    return out


def describe(values: list[float]) -> str:
    """'median M s over N (min, max)'."""
    return f"median {statistics.median(values):.1f} s over {len(values)} (min {min(values):.1f}, max {max(values):.1f})"


def verdict(ratio: float) -> str:
    return "meets" if ratio <= 1.0 else "misses"


def floor_inventory(levels: dict[str, list[str]]) -> dict[str, Any]:
    """The demo's levels as an inventory: localhost local, each level through its nested chain."""
    hosts: dict[str, Any] = {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    }
    for name, chain in levels.items():
        hosts[name] = {
            "ansible_connection": "nested.hosts.nested",
            "ansible_nested_chain": chain,
            "ansible_python_interpreter": "/usr/bin/python3",
        }
    return {"all": {"vars": {"ansible_pipelining": True}, "hosts": hosts}}


FLOOR_PLAY = """---
- name: Floor - one ping on every level the demo reaches
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def docker_problem() -> str | None:
    """None when the docker CLI reaches a daemon, else why not."""
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    proc = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode:
        return f"docker does not answer: {(proc.stderr or proc.stdout).strip()[:300]}"
    return None


def playbook_env(collections_root: Path) -> dict[str, str]:
    """The environment of a measured ansible-playbook run: collections_root first (it holds this
    checkout as nested.hosts), no colour, no retry files."""
    default = os.environ.get("ANSIBLE_COLLECTIONS_PATH", str(Path.home() / ".ansible" / "collections"))
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=f"{collections_root}:{default}",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        LANG="C.UTF-8",
    )


def run_playbook(
    argv: list[str], env: dict[str, str], cwd: Path = REPO, ansible_playbook: str | None = None
) -> tuple[float, dict[str, dict[str, int]], str]:
    """Wall time, recap and output of one ansible-playbook run from cwd (the repository root), by
    ansible_playbook (default: the one beside this Python)."""
    start = time.monotonic()
    proc = subprocess.run(
        [ansible_playbook or _bench.tool("ansible-playbook"), *argv], cwd=cwd, env=env, capture_output=True, text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    out = proc.stdout + proc.stderr
    if proc.returncode:
        tail = "\n".join(out.splitlines()[-40:])
        raise SystemExit(f"FAIL: ansible-playbook {' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return elapsed, parse_recap(proc.stdout), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3, help="measured converged re-runs (after one warm-up run)")
    parser.add_argument("--goal", type=float, default=GOAL_S, help="goal for the median converged re-run, seconds")
    parser.add_argument("--baseline", type=Path, help="another checkout of the collection to compare with")
    parser.add_argument("--profile-top", type=int, default=15, help="slowest tasks of the profiled run to print (0: no profiled run)")
    parser.add_argument("--cheap", type=float, default=0.25, help="seconds below which a task counts as cheap in the profile")
    args = parser.parse_args()
    if args.profile_top < 0:
        parser.error("--profile-top must be 0 (no profiled run) or more")
    if args.baseline and not (args.baseline / "playbooks" / "demo.yml").is_file():
        print(f"FAIL: --baseline {args.baseline} holds no playbooks/demo.yml", file=sys.stderr)
        return 2
    why = docker_problem()
    if why:
        print(f"FAIL: bench_demo needs a running Docker engine: {why}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nhbench-demo-"))
    try:
        env = playbook_env(_bench.link_collection(work))
        base_env: dict[str, str] = {}
        if args.baseline:
            base_env = playbook_env(_bench.link_collection(work / "base", args.baseline.resolve()))
        import yaml  # from requirements.txt, as in the other benchmarks

        (work / "floor.yml").write_text(yaml.safe_dump(floor_inventory(LEVELS)))
        (work / "ping.yml").write_text(FLOOR_PLAY)
        warm_s, warm_recap, _warm_out = run_playbook(DEMO_ARGV, env)
        print(f"warm-up demo run: {warm_s:.1f} s, changed={totals(warm_recap)['changed']} (converges when needed)")
        if args.baseline:
            warm_s, warm_recap, _warm_out = run_playbook(DEMO_ARGV, base_env, cwd=args.baseline)
            print(f"warm-up baseline run: {warm_s:.1f} s, changed={totals(warm_recap)['changed']}")
        demo_s: list[float] = []
        floor_s: list[float] = []
        base_s: list[float] = []
        recap: dict[str, dict[str, int]] = {}
        base_recap: dict[str, dict[str, int]] = {}
        for _round in range(args.runs):
            if args.baseline:
                elapsed, base_recap, out = run_playbook(DEMO_ARGV, base_env, cwd=args.baseline)
                problem = converged_problem(base_recap)
                if problem:
                    print(f"FAIL: baseline {problem}; changed: {changed_tasks(out)}", file=sys.stderr)
                    return 1
                base_s.append(elapsed)
            elapsed, recap, out = run_playbook(DEMO_ARGV, env)
            problem = converged_problem(recap)
            if problem:
                print(f"FAIL: {problem}; changed: {changed_tasks(out)}", file=sys.stderr)
                return 1
            demo_s.append(elapsed)
            elapsed, _floor_recap, _floor_out = run_playbook(
                ["-i", str(work / "floor.yml"), str(work / "ping.yml")], env
            )
            floor_s.append(elapsed)
        profiles: list[tuple[str, list[tuple[str, float]]]] = []
        if args.profile_top:
            if args.baseline:
                _s, _r, out = run_playbook(DEMO_ARGV, dict(base_env, **PROFILE_ENV), cwd=args.baseline)
                profiles.append((f"baseline {args.baseline}", parse_profile(out)))
            _s, _r, out = run_playbook(DEMO_ARGV, dict(env, **PROFILE_ENV))
            profiles.append(("this checkout", parse_profile(out)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    demo, floor = statistics.median(demo_s), statistics.median(floor_s)
    count = totals(recap)
    print(
        f"demo converged re-run: {describe(demo_s)}; tasks ok={count['ok']} skipped={count['skipped']} "
        f"changed={count['changed']} on {len(recap)} hosts"
    )
    print(f"floor (one ping per level, {len(LEVELS) + 1} levels, same connections): {describe(floor_s)}")
    print(f"  ratio demo/goal ({args.goal:.0f} s): {demo / args.goal:.2f} ({verdict(demo / args.goal)} the goal <= 1)")
    print(f"  ratio demo/floor: {demo / floor:.2f}")
    if base_s:
        base_count = totals(base_recap)
        print(
            f"baseline {args.baseline}: {describe(base_s)}; tasks ok={base_count['ok']} skipped={base_count['skipped']}"
        )
        print(f"  ratio demo/baseline: {demo / statistics.median(base_s):.2f}")
    for label, rows in profiles:
        print(f"profile of one more converged run, {label} (ansible.posix.profile_tasks, not in the medians):")
        print("\n".join(profile_summary(rows, args.profile_top, args.cheap)))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average (1/5/15 min) after the runs: {load} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
