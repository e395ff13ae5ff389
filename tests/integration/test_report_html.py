# SPDX-License-Identifier: GPL-3.0-or-later
"""Render report.html in headless Chromium and check the table a person sees.

The page is written by the real ``nested.hosts.nesting_report`` code path (module_utils
``_report``) from a depth-3 chain of records, plus a level whose name holds HTML. Chromium
(Debian's ``chromium`` package) loads it from a file URL with networking disabled; the DOM it
builds is parsed back and the table, its rows and their cells are compared with the rows the
report code returned. A screenshot is taken too, to prove the page really paints.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from ansible_collections.nested.hosts.plugins.module_utils import _report
from ansible_collections.nested.hosts.tests.unit.plugins.module_utils.report_cases import (
    PLAIN,
    captured,
    chain_records,
)

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def _chromium() -> str | None:
    override = os.environ.get("NH_CHROMIUM")
    if override:
        return override
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-breakpad",
            f"--user-data-dir={profile}",
            *args,
        ],
        # keep Chromium's crash-report and cache folders out of the real home directory
        env=dict(
            os.environ,
            HOME=str(profile),
            XDG_CONFIG_HOME=str(profile / "config"),
            XDG_CACHE_HOME=str(profile / "cache"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class _TableReader(HTMLParser):
    """Collects the cells of table#nesting-report as the browser serialised them."""

    def __init__(self) -> None:
        super().__init__()
        self.in_table = False
        self.headers: list[str] = []
        self.rows: list[dict] = []
        self._cell: list[str] | None = None
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = dict(attrs)
        if tag == "table" and attr.get("id") == "nesting-report":
            self.in_table = True
        if not self.in_table:
            return
        if tag == "tr" and "level" in (attr.get("class") or ""):
            self.rows.append({"attrs": attr, "cells": {}})
        if tag in ("th", "td"):
            self._cell = []
            self._tag = tag
            self._key = attr.get("class")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_table = False
        if tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._tag == "th":
                self.headers.append(text)
            else:
                self.rows[-1]["cells"][self._key] = text
            self._cell = None


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = _chromium()
    if binary is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium); cannot render report.html")
    return binary


def test_report_html_renders_table_in_chromium(chromium: str, tmp_path: Path) -> None:
    records = chain_records()
    records.append(
        {
            "host": "<b>odd&name</b>",
            "depth": 2,
            "parent": "nh-node1",
            "method": "plain",
            "facts": captured(PLAIN),
        }
    )
    report = _report.build_report(records)
    page = tmp_path / "report.html"
    page.write_text(report["html"], encoding="utf-8")

    proc = _run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert '<table id="nesting-report">' in dom

    reader = _TableReader()
    reader.feed(dom)
    assert reader.headers == list(_report.COLUMN_TITLES)
    assert [r["attrs"]["data-host"] for r in reader.rows] == [r["host"] for r in report["rows"]]
    assert [r["attrs"]["data-host"] for r in reader.rows] == [
        "localhost",
        "nh-node1",
        "<b>odd&name</b>",  # siblings under nh-node1 sorted by name
        "nh-dind",
        "nh-c3",
    ]
    for shown, row in zip(reader.rows, report["rows"]):
        for key in _report.COLUMN_KEYS:
            expected = _report.cell_text(row, key)
            got = shown["cells"][key]
            # the host cell carries an arrow before nested levels
            assert got.endswith(expected) if key == "host" else got == expected, (
                row["host"],
                key,
                got,
            )
    # the odd host name arrived as text, not as markup
    assert "&lt;b&gt;odd&amp;name&lt;/b&gt;" in dom
    assert reader.rows[2]["cells"]["can_nest"] == "NO"
    assert 'id="max-depth">3<' in dom

    shot = tmp_path / "report.png"
    proc = _run_chromium(
        chromium,
        tmp_path / "profile",
        "--window-size=1400,800",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    print(f"chromium rendered {len(reader.rows)} rows; screenshot {len(data)} bytes")
