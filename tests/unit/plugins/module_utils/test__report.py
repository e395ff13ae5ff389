# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven tests for plugins/module_utils/_report.py."""

from __future__ import annotations

import collections
import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ansible_collections.nested.hosts.plugins.module_utils import _report
from ansible_collections.nested.hosts.tests.unit.plugins.module_utils.report_cases import (
    HOST,
    PLAIN,
    captured,
    chain_records,
)

SCHEMA = json.loads((Path(__file__).resolve().parents[4] / "docs" / "report.schema.json").read_text())


def _unreached_records(unreachable: dict[str, Any], error: str | None = None) -> list[dict[str, Any]]:
    """A reached host with three children: no facts, a failed nesting_facts, an unreachable result."""
    last: dict[str, Any] = {"host": "unreach", "depth": 1, "parent": "h", "facts": unreachable}
    if error is not None:
        last["error"] = error
    return [
        {"host": "h", "depth": 0, "facts": captured(HOST)},
        {"host": "gone", "depth": 1, "parent": "h", "facts": None, "error": "host unreachable"},
        {"host": "broke", "depth": 1, "parent": "h", "facts": {"failed": True, "msg": "proc_root /x does not exist"}},
        last,
    ]


# ----------------------------------------------------------------------------- good input
# id, records, expected host order, expected cells per host (subset), expected summary (subset)
GOOD_CASES: list[Any] = [
    (
        "this-host",
        [{"host": "localhost", "depth": 0, "facts": captured(HOST)}],
        ["localhost"],
        {
            "localhost": {
                "runtime": "none",
                "cgroup_version": "hybrid",
                "devices_hierarchy": "own",
                "cgroupns": "host",
                "apparmor_profile": "not available",
                "capabilities_short": "SYS_RESOURCE",
                "can_nest": "yes",
                "risks": "-",
            }
        },
        {
            "levels": 1,
            "max_depth": 0,
            "all_can_nest": True,
            "cannot_nest": [],
            "unreached": [],
            "risk_counts": {},
        },
    ),
    (
        "depth-3-chain-in-tree-order",
        chain_records(),
        ["localhost", "nh-node1", "nh-dind", "nh-c3"],
        {
            "localhost": {"runtime": "none/node", "depth": "0"},
            "nh-node1": {
                "runtime": "docker/node",
                "depth": "1",
                "risks": "privileged,no-lsm,cgroup-v1-release-agent",
            },
            "nh-dind": {"runtime": "docker/dind", "depth": "2"},
            "nh-c3": {"runtime": "docker", "depth": "3", "can_nest": "yes"},
        },
        {
            "levels": 4,
            "max_depth": 3,
            "all_can_nest": True,
            "risk_counts": {"high": 6, "medium": 3},
        },
    ),
    (
        "default-docker-container-cannot-nest",
        [
            {"host": "h", "depth": 0, "facts": captured(HOST)},
            {"host": "plain", "depth": "1", "parent": "h", "facts": captured(PLAIN)},
        ],
        ["h", "plain"],
        {
            "plain": {
                "can_nest": "NO",
                "capabilities_short": "27: AUDIT_CONTROL,AUDIT_READ,...",
                "risks": "no-lsm",
            }
        },
        {"all_can_nest": False, "cannot_nest": ["plain"], "max_depth": 1},
    ),
    (
        "v2-private-cgroupns-apparmor-confined",
        [
            {"host": "v2", "depth": 0, "facts": captured("cgroup-v2-host")},
            {"host": "private", "depth": 0, "facts": captured("docker-cgroupns-private")},
            {"host": "confined", "depth": 0, "facts": captured("apparmor-docker-default-container")},
        ],
        ["confined", "private", "v2"],
        {
            "v2": {"cgroup_version": "v2", "devices_hierarchy": "n/a (v2)", "risks": "-"},
            "private": {"cgroup_version": "v1", "cgroupns": "private"},
            "confined": {"apparmor_profile": "docker-default (enforce)"},
        },
        {"risk_counts": {"medium": 1}},
    ),
    (
        "effective-short-of-bounding",
        # a non-root process on the dev VM: the same bounding set, nothing effective
        [{"host": "user", "depth": 0, "facts": {**captured(HOST), "capabilities": {**captured(HOST)["capabilities"], "effective": []}}}],
        ["user"],
        {"user": {"capabilities_short": "SYS_RESOURCE (+40 not effective)"}},
        {},
    ),
    (
        "unreached-level-and-failed-result",
        _unreached_records(
            {"unreachable": True, "changed": False, "msg": "Failed to create temporary directory"},
            error="generic text the registered result overrides",
        ),
        ["h", "broke", "gone", "unreach"],
        {
            "gone": {
                "can_nest": "?",
                "runtime": "?",
                "risks": "?",
                "capabilities_short": "?",
            },
            "broke": {"can_nest": "?"},
        },
        {
            "all_can_nest": False,
            "unreached": ["broke", "gone", "unreach"],
            "max_depth": 0,
            "levels": 4,
        },
    ),
    (
        "orphan-parent-and-cycle-keep-every-level",
        [
            {"host": "b", "depth": 1, "parent": "a", "facts": captured(HOST)},
            {"host": "a", "depth": 1, "parent": "b", "facts": captured(HOST)},
            {"host": "orphan", "depth": 2, "parent": "not-in-report", "facts": captured(HOST)},
        ],
        ["orphan", "a", "b"],  # roots first, then levels whose parents form a cycle
        {"orphan": {"depth": "2"}},
        {"levels": 3, "max_depth": 2},
    ),
]


@pytest.mark.parametrize("case_id,records,order,cells,summary", GOOD_CASES, ids=[c[0] for c in GOOD_CASES])
def test_report_rows_cells_summary(case_id: str, records: list, order: list, cells: dict, summary: dict) -> None:
    report = _report.build_report(copy.deepcopy(records))
    assert [r["host"] for r in report["rows"]] == order
    by_host = {r["host"]: r for r in report["rows"]}
    for host, expected in cells.items():
        got = {key: _report.cell_text(by_host[host], key) for key in expected}
        assert got == expected, host
    for key, value in summary.items():
        assert report["summary"][key] == value, key
    # report.json matches the published schema and round-trips to the same document
    jsonschema.validate(json.loads(report["json"]), SCHEMA)
    assert json.loads(report["json"]) == json.loads(json.dumps(report["document"], default=str))
    # the terminal table has the header, one line per level and the summary line
    lines = report["table"].splitlines()
    assert lines[0].split()[:3] == ["host", "depth", "runtime"]
    for host in order:
        assert any(line.strip().startswith(host) for line in lines[2 : 2 + len(order)]), host
    assert f"levels: {len(order)}," in report["table"]


def test_unreached_levels_say_why() -> None:
    report = _report.build_report(_unreached_records({"unreachable": True, "msg": "Failed to connect"}))
    errors = {r["host"]: r["error"] for r in report["rows"]}
    assert errors == {
        "h": None,
        "gone": "host unreachable",
        "broke": "nesting_facts failed: proc_root /x does not exist",
        "unreach": "nesting_facts unreachable: Failed to connect",
    }
    assert "unreach not reached:\n  - no facts: nesting_facts unreachable: Failed to connect" in report["table"]


def test_report_is_deterministic() -> None:
    a = _report.build_report(chain_records())
    b = _report.build_report(list(reversed(chain_records())))
    assert a["json"] == b["json"]
    assert a["html"] == b["html"]
    assert a["table"] == b["table"]


def test_bookkeeping_keys_are_not_facts() -> None:
    row = _report.build_report(chain_records())["rows"][0]
    assert "invocation" not in row["facts"] and "changed" not in row["facts"]
    assert row["facts"]["container_runtime"] == "none"


def test_table_aligns_columns_and_explains_failures() -> None:
    records = [
        {"host": "h", "depth": 0, "facts": captured(HOST)},
        {"host": "plain", "depth": 1, "parent": "h", "facts": captured(PLAIN)},
    ]
    table = _report.build_report(records)["table"]
    first_reason = captured(PLAIN)["reasons"][0]
    header, rule, first, second = table.splitlines()[:4]
    assert header.index("depth") == first.index("0") and rule.startswith("----")
    assert second.startswith("  plain")  # nested levels are indented under their parent
    assert "all levels can nest Docker: NO" in table
    assert f"plain cannot nest Docker:\n  - {first_reason}" in table


# ----------------------------------------------------------------------------- HTML
class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self.attrs.append(dict(attrs))
        if tag == "tr" and "level" in (dict(attrs).get("class") or ""):
            self.rows.append(dict(attrs))


def test_html_is_self_contained_and_escaped() -> None:
    records = chain_records()
    evil = '<script>alert("x")</script>&'
    records[1]["host"] = evil
    records[3]["parent"] = evil
    records[0]["facts"]["risks"][0]["message"] = '"><img src=http://example.invalid/x>'
    page = _report.build_report(records)["html"]
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags and "link" not in parsed.tags
    for attrs in parsed.attrs:
        for name in ("src", "href"):
            assert name not in attrs, attrs
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    # the full facts of each level are embedded as escaped JSON text
    assert page.count('<details class="facts">') == 4
    assert "&quot;container_runtime&quot;: &quot;docker&quot;" in page
    assert "&quot;&gt;&lt;img src=http://example.invalid/x&gt;" in page
    assert not re.search(r"url\(", page)
    assert [r["data-host"] for r in parsed.rows] == [
        evil,
        "nh-node1",
        "nh-dind",
        "nh-c3",
    ]
    assert [r["data-depth"] for r in parsed.rows] == ["0", "1", "2", "3"]
    assert parsed.tags.count("th") == len(_report.COLUMNS)


# ----------------------------------------------------------------------------- bad input
BAD_CASES = [
    ("not-a-list", {"host": "h"}, "records must be a list"),
    ("empty", [], "records is empty"),
    ("record-not-mapping", ["h"], "records[0] is a str"),
    ("no-host", [{"depth": 0, "facts": {}}], "records[0].host is missing"),
    (
        "blank-host",
        [{"host": " ", "depth": 0, "facts": {}}],
        "records[0].host is missing",
    ),
    (
        "duplicate-host",
        [{"host": "h", "facts": {}}, {"host": "h", "facts": {}}],
        "records[1].host 'h' repeats records[0].host",
    ),
    (
        "negative-depth",
        [{"host": "h", "depth": -1, "facts": {}}],
        "records[0].depth is -1",
    ),
    (
        "word-depth",
        [{"host": "h", "depth": "deep", "facts": {}}],
        "records[0].depth is 'deep'",
    ),
    (
        "bool-depth",
        [{"host": "h", "depth": True, "facts": {}}],
        "records[0].depth is a boolean",
    ),
    (
        "facts-not-mapping",
        [{"host": "h", "facts": ["x"]}],
        "records[0].facts is a list",
    ),
    (
        "no-facts-no-error",
        [{"host": "h", "facts": None}],
        "records[0] has neither facts nor error",
    ),
    (
        "parent-not-string",
        [{"host": "h", "parent": 3, "facts": {}}],
        "records[0].parent is a int",
    ),
    (
        "method-not-string",
        [{"host": "h", "method": ["dind"], "facts": {}}],
        "records[0].method is a list",
    ),
]


@pytest.mark.parametrize("case_id,records,message", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_records_fail_with_one_clear_message(case_id: str, records: Any, message: str) -> None:
    with pytest.raises(_report.ReportInputError) as err:
        _report.build_report(records)
    assert message in str(err.value)


def test_findings_flow_into_rows_summary_table_and_html() -> None:
    records = chain_records()
    finding = {"id": "mtu-below-default", "severity": "medium", "message": "MTU <1400>.", "fix": "Set mtu."}
    records[0]["facts"] = {**records[0]["facts"], "findings": [finding, "not a mapping"]}
    report = _report.build_report(records)
    row = next(r for r in report["rows"] if r["host"] == records[0]["host"])
    assert row["findings"] == [finding]
    facts = {r["host"]: r["facts"] for r in records}
    assert all(r["findings"] == facts[r["host"]]["findings"] for r in report["rows"] if r is not row)
    counts = collections.Counter(f["severity"] for r in records[1:] for f in r["facts"]["findings"])
    counts["medium"] += 1
    assert report["summary"]["finding_counts"] == dict(counts)
    assert f"{row['host']} findings:\n  - medium mtu-below-default: MTU <1400>. Fix: Set mtu." in report["table"]
    assert "<code>mtu-below-default</code>: MTU &lt;1400&gt;. <b>Fix:</b> Set mtu.</li>" in report["html"]


@pytest.mark.parametrize(
    ("outer_api", "inner_min", "ids"),
    [
        pytest.param("1.41", "1.44", ["docker-inner-daemon-newer-than-outer-client"], id="engine-29-under-20.10-client"),
        pytest.param("1.52", "1.44", [], id="client-new-enough"),
        pytest.param(None, "1.44", [], id="outer-versions-unknown"),
    ],
)
def test_docker_skew_across_levels(outer_api: str | None, inner_min: str, ids: list) -> None:
    records = chain_records()
    by_host = {r["host"]: r for r in records}
    child = next(r for r in records if r.get("parent") in by_host and by_host[r["parent"]]["facts"])
    parent = by_host[child["parent"]]
    parent["facts"] = {**parent["facts"], "docker": {"client_api": outer_api, "client_version": "20.10.24"} if outer_api else None}
    child["facts"] = {**child["facts"], "docker": {"server_min_api": inner_min, "server_version": "29.0.2"}}
    rows = {row["host"]: row for row in _report.build_report(records)["rows"]}
    assert [f["id"] for f in rows[child["host"]]["findings"]] == ids
    assert rows[parent["host"]]["findings"] == []
