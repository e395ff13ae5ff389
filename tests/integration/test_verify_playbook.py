# SPDX-License-Identifier: GPL-3.0-or-later
"""Run playbooks/verify.yml (nested.hosts.verify) for real on this machine, twice.

The first run must print the table and write report.json (valid against docs/report.schema.json)
and report.html; the second run must leave both files as they were (the report task reports ok,
not changed), because the facts of this machine did not change in between.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text())


def _run(tmp_path: Path) -> subprocess.CompletedProcess:
    playbook = Path(sys.executable).with_name("ansible-playbook")
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        [
            str(playbook) if playbook.exists() else "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            f"nested_hosts_verify_report_dir={tmp_path / 'reports'}",
            "-e",
            "nested_hosts_verify_require_nesting=false",
            str(REPO / "playbooks" / "verify.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )


def _task_status(output: str, task: str) -> str:
    match = re.search(rf"TASK \[{re.escape(task)}\][^\n]*\n(\w+): \[localhost\]", output)
    assert match, f"task {task!r} not found in output:\n{output[-3000:]}"
    return match.group(1)


def test_verify_playbook_writes_report_then_changes_nothing(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert _task_status(first.stdout, "Write report.json and report.html") == "changed"
    assert re.search(r'"host +depth +runtime +cgroup +devices hierarchy +cgroupns', first.stdout)
    assert re.search(r'"localhost +0 +\S+', first.stdout)

    report_json = tmp_path / "reports" / "report.json"
    report_html = tmp_path / "reports" / "report.html"
    document = json.loads(report_json.read_text())
    jsonschema.validate(document, SCHEMA)
    assert [row["host"] for row in document["rows"]] == ["localhost"]
    row = document["rows"][0]
    assert row["facts"] is not None and row["error"] is None
    assert row["cgroup_version"] in ("v1", "v2", "hybrid")
    assert '<table id="nesting-report">' in report_html.read_text()
    before = (report_json.read_bytes(), report_html.read_bytes())

    second = _run(tmp_path)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-2000:]
    assert _task_status(second.stdout, "Write report.json and report.html") == "ok"
    assert (report_json.read_bytes(), report_html.read_bytes()) == before
    print(f"verify.yml on this machine: {row['host']} cgroup {row['cgroup_version']}, can_nest {row['can_nest']}")
