# SPDX-License-Identifier: GPL-3.0-or-later
"""The main job, end to end: `make demo` twice, then `make demo-clean`.

Proves on this machine what the README promises: nesting to depth 3 with every level able to
nest Docker, a second run that changes nothing, and a clean-up that leaves no demo objects.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = REPO_ROOT / "build" / "demo"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _make(target: str, log_name: str) -> tuple[str, float]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / log_name
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    proc = subprocess.run(["make", "--no-print-directory", target], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    log_path.write_text(output)
    print(f"make {target}: exit {proc.returncode} in {elapsed:.0f} s (log: {log_path})")
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-60:])
        pytest.fail(f"make {target} exited {proc.returncode}; log tail:\n{tail}")
    return output, elapsed


def _docker_names(kind: str) -> list[str]:
    args = {"container": ["ps", "-a"], "volume": ["volume", "ls"]}[kind]
    out = subprocess.run(["docker", *args, "--format", "{{.Names}}" if kind == "container" else "{{.Name}}"],
                         capture_output=True, text=True, check=True).stdout
    return [n for n in out.split() if n.startswith("nhdemo-")]


def test_demo_reaches_depth_3_is_idempotent_and_cleans_up() -> None:
    first, first_s = _make("demo", "demo-first.log")
    report = json.loads((REPO_ROOT / "reports" / "report.json").read_text())
    levels = {row["host"]: row for row in report["rows"]}
    assert report["summary"]["max_depth"] == 3, report["summary"]
    assert report["summary"]["all_can_nest"] is True, report["summary"]
    assert {"localhost", "nhdemo-node-1", "nhdemo-node-2", "nhdemo-dind-1", "nhdemo-d3"} <= set(levels)
    assert "max depth reached: 3" in first

    second, second_s = _make("demo", "demo-second.log")
    recaps = RECAP.findall(second)
    assert recaps, "no PLAY RECAP in the second run"
    changed = {host: int(c) for host, _ok, c, _u, _f in recaps}
    assert all(c == 0 for c in changed.values()), f"second demo run changed something: {changed}"
    timing = f"demo wall time: first {first_s:.0f} s, second {second_s:.0f} s"
    print(timing)
    (LOG_DIR / "timings.txt").write_text(timing + "\n")

    _make("demo-clean", "demo-clean.log")
    assert _docker_names("container") == []
    assert _docker_names("volume") == []
