# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real nesting_report module: in-process on temp paths, and once through ``ansible``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from _run_module import run_module as run_through_ansible
from ansible_collections.nested.hosts.tests.unit.plugins.module_utils.report_cases import (
    chain_records,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[4] / "docs" / "report.schema.json").read_text())


def test_writes_both_files_then_reports_no_change(run_module, tmp_path: Path) -> None:
    paths = {
        "json_path": str(tmp_path / "report.json"),
        "html_path": str(tmp_path / "report.html"),
    }
    first = run_module("nesting_report", records=chain_records(), **paths)
    assert first["changed"] is True
    assert first["files"] == {
        "json": {"path": paths["json_path"], "changed": True},
        "html": {"path": paths["html_path"], "changed": True},
    }
    document = json.loads(Path(paths["json_path"]).read_text())
    jsonschema.validate(document, SCHEMA)
    assert [r["host"] for r in document["rows"]] == [
        "localhost",
        "nh-node1",
        "nh-dind",
        "nh-c3",
    ]
    assert document["summary"]["max_depth"] == 3 and document["summary"]["all_can_nest"] is True
    assert '<table id="nesting-report">' in Path(paths["html_path"]).read_text()
    assert first["summary"]["max_depth"] == 3
    assert [r["host"] for r in first["rows"]] == [
        "localhost",
        "nh-node1",
        "nh-dind",
        "nh-c3",
    ]
    assert all("facts" not in r for r in first["rows"])
    assert first["table"].splitlines()[0].startswith("host")
    assert oct(os.stat(paths["json_path"]).st_mode & 0o777) == "0o644"

    second = run_module("nesting_report", records=chain_records(), **paths)
    assert second["changed"] is False
    assert second["table"] == first["table"]


def test_changed_when_facts_change(run_module, tmp_path: Path) -> None:
    path = str(tmp_path / "report.json")
    run_module("nesting_report", records=chain_records(), json_path=path)
    records = chain_records()
    records[0]["facts"]["can_nest_docker"] = False
    records[0]["facts"]["reasons"] = ["/sys/fs/cgroup is mounted read-only."]
    result = run_module("nesting_report", records=records, json_path=path)
    assert result["changed"] is True
    assert result["summary"]["cannot_nest"] == ["nh-c3"]
    assert json.loads(Path(path).read_text())["summary"]["all_can_nest"] is False


def test_check_mode_writes_nothing(run_module, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    result = run_module("nesting_report", check_mode=True, records=chain_records(), html_path=str(path))
    assert result["changed"] is True
    assert result["files"]["html"]["changed"] is True
    assert not path.exists()
    assert "nh-c3" in result["table"]
    assert list(tmp_path.iterdir()) == []


def test_check_mode_tolerates_a_directory_not_created_yet(run_module, tmp_path: Path) -> None:
    path = tmp_path / "later" / "report.json"
    result = run_module("nesting_report", check_mode=True, records=chain_records(), json_path=str(path))
    assert result["changed"] is True and result["files"]["json"]["changed"] is True
    assert not (tmp_path / "later").exists()


def test_no_paths_only_returns_table(run_module) -> None:
    result = run_module("nesting_report", records=chain_records())
    assert result["changed"] is False and result["files"] == {}
    assert "max depth reached: 3" in result["table"]


@pytest.mark.parametrize(
    "args,message",
    [
        ({"records": []}, "records is empty"),
        ({"records": [{"depth": 0, "facts": {}}]}, "records[0].host is missing"),
        (
            {"json_path": "{tmp}/missing/report.json"},
            "json_path: directory {tmp}/missing does not exist",
        ),
        ({"html_path": "{tmp}"}, "html_path {tmp} is a directory"),
    ],
    ids=[
        "empty-records",
        "record-without-host",
        "json-dir-missing",
        "html-path-is-dir",
    ],
)
def test_bad_input_fails_and_writes_nothing(run_module, tmp_path: Path, args: dict, message: str) -> None:
    full = {"records": chain_records(), "json_path": str(tmp_path / "ok.json")}
    full.update({k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in args.items()})
    result = run_module("nesting_report", **full)
    assert result["failed"] is True
    assert message.replace("{tmp}", str(tmp_path)) in result["msg"]
    assert not (tmp_path / "ok.json").exists()


def test_real_module_through_ansible(tmp_path: Path) -> None:
    """The module as a user runs it: ansible ad hoc on localhost, arguments as JSON."""
    args = {"records": chain_records(), "json_path": str(tmp_path / "report.json")}
    result = run_through_ansible("nesting_report", args)
    assert result["changed"] is True
    assert result["summary"]["max_depth"] == 3
    jsonschema.validate(json.loads((tmp_path / "report.json").read_text()), SCHEMA)
