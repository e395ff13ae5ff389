# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of benchmarks/bench_demo.py: the recap it reads, the converged check, the floor
inventory, and its failure when docker does not answer."""

from __future__ import annotations

import sys
from typing import Any

import pytest

import bench_demo as bench  # benchmarks/ is on the path (conftest.py)

# A real recap, from a converged re-run of the demo on this machine kind.
CONVERGED = """
PLAY RECAP *********************************************************************
localhost                  : ok=94   changed=0    unreachable=0    failed=0    skipped=55   rescued=0    ignored=0
nhdemo-d3                  : ok=1    changed=0    unreachable=0    failed=0    skipped=6    rescued=0    ignored=0
nhdemo-dind-1              : ok=4    changed=0    unreachable=0    failed=0    skipped=6    rescued=0    ignored=0
nhdemo-node-1              : ok=54   changed=0    unreachable=0    failed=0    skipped=41   rescued=0    ignored=0
nhdemo-node-2              : ok=1    changed=0    unreachable=0    failed=0    skipped=6    rescued=0    ignored=0
"""

CASES: list[tuple[str, str, str | None]] = [
    ("converged", CONVERGED, None),
    (
        "changed",
        CONVERGED.replace("ok=4    changed=0", "ok=4    changed=1"),
        "nhdemo-dind-1 changed=1 failed=0 unreachable=0",
    ),
    (
        "failed",
        CONVERGED.replace(
            "ok=1    changed=0    unreachable=0    failed=0    skipped=6    rescued=0    ignored=0\nnhdemo-dind-1",
            "ok=1    changed=0    unreachable=1    failed=1    skipped=6    rescued=0    ignored=0\nnhdemo-dind-1",
        ),
        "nhdemo-d3 changed=0 failed=1 unreachable=1",
    ),
    ("no recap", "ERROR! the playbook could not be read", "no PLAY RECAP"),
]


@pytest.mark.parametrize(("text", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_converged_problem(text: str, problem: str | None) -> None:
    found = bench.converged_problem(bench.parse_recap(text))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_parse_recap_and_totals() -> None:
    recap = bench.parse_recap(CONVERGED)
    assert set(recap) == {"localhost", "nhdemo-d3", "nhdemo-dind-1", "nhdemo-node-1", "nhdemo-node-2"}
    assert recap["nhdemo-node-1"] == {"ok": 54, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 41}
    assert bench.totals(recap) == {"ok": 154, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 114}


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([30.0, 10.0, 20.0], "median 20.0 s over 3 (min 10.0, max 30.0)"),
        ([12.34], "median 12.3 s over 1 (min 12.3, max 12.3)"),
    ],
)
def test_describe(values: list[float], text: str) -> None:
    assert bench.describe(values) == text


@pytest.mark.parametrize(("ratio", "word"), [(0.5, "meets"), (1.0, "meets"), (1.01, "misses")])
def test_verdict(ratio: float, word: str) -> None:
    assert bench.verdict(ratio) == word


def test_floor_inventory_reaches_every_level_through_its_chain() -> None:
    inventory: dict[str, Any] = bench.floor_inventory(bench.LEVELS)["all"]
    assert inventory["vars"] == {"ansible_pipelining": True}
    hosts = inventory["hosts"]
    assert hosts["localhost"]["ansible_connection"] == "local"
    assert hosts["nhdemo-d3"]["ansible_nested_chain"] == ["nhdemo-node-1", "nhdemo-dind-1", "nhdemo-d3"]
    assert {h["ansible_connection"] for n, h in hosts.items() if n != "localhost"} == {"nested.hosts.nested"}


def test_fails_clearly_without_docker(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench.shutil, "which", lambda _name: None)
    monkeypatch.setattr(sys, "argv", ["bench_demo.py"])
    assert bench.main() == 2
    assert "FAIL: bench_demo needs a running Docker engine: the docker CLI is not on PATH" in capsys.readouterr().err


def test_changed_tasks_names_task_and_host() -> None:
    text = (
        "TASK [nested.hosts.node_image : Build the node image] ****\n"
        "changed: [localhost]\n"
        "TASK [Ping] ****\n"
        "ok: [localhost]\n"
        "TASK [nested.hosts.dind : Write the fingerprints of the checked certificates] ***\n"
        "changed: [nhdemo-node-1 -> localhost]\n"
    )
    assert bench.changed_tasks(text) == [
        "nested.hosts.node_image : Build the node image (localhost)",
        "nested.hosts.dind : Write the fingerprints of the checked certificates (nhdemo-node-1 -> localhost)",
    ]


# The end of a converged demo run with ansible.posix.profile_tasks listing every task (this machine,
# lines abridged to four tasks), after the recap.
PROFILED = """\
Wednesday 02 December 2026  00:27:33 +0000 (0:00:00.031)       0:00:25.506 ****
===============================================================================
nested.hosts.node : Run the node containers ----------------------------- 1.63s
Run nesting_facts on the level itself ----------------------------------- 1.15s
Keep each container's init pid ------------------------------------------ 0.08s
nested.hosts.dind : Describe the containers ----------------------------- 0.06s
"""


def test_parse_profile_reads_every_task_slowest_first() -> None:
    rows = bench.parse_profile(PROFILED + "Run the report --- 0.50s\n")
    assert rows == [
        ("nested.hosts.node : Run the node containers", 1.63),
        ("Run nesting_facts on the level itself", 1.15),
        ("Run the report", 0.50),
        ("Keep each container's init pid", 0.08),
        ("nested.hosts.dind : Describe the containers", 0.06),
    ]


def test_parse_profile_ignores_the_timestamp_and_rule_lines() -> None:
    assert bench.parse_profile(PROFILED.splitlines()[0] + "\n" + PROFILED.splitlines()[1]) == []


def test_profile_summary_splits_at_the_cheap_threshold() -> None:
    lines = bench.profile_summary(bench.parse_profile(PROFILED), top=2, cheap=0.25)
    assert lines[0] == (
        "  4 task headers, 2.9 s in all: 2 of 0.25 s or more take 2.8 s; the other 2 take 0.1 s (70 ms each)"
    )
    assert lines[1:] == ["    1.63 s  nested.hosts.node : Run the node containers", "    1.15 s  Run nesting_facts on the level itself"]


def test_profile_summary_without_profile_lines_says_so() -> None:
    assert bench.profile_summary([], top=5, cheap=0.25) == ["  no profile_tasks lines in the output"]


def test_profile_env_lists_every_task() -> None:
    assert bench.PROFILE_ENV["ANSIBLE_CALLBACKS_ENABLED"] == "ansible.posix.profile_tasks"
    assert bench.PROFILE_ENV["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] == "all"
