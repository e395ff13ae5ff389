# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for module_utils/_packages.py: which wanted packages one dpkg-query shows missing."""

from __future__ import annotations

import pytest
from ansible_collections.nested.hosts.plugins.module_utils._packages import (
    DPKG_QUERY_FORMAT,
    PackageQueryError,
    dpkg_missing,
)
from hypothesis import given
from hypothesis import strategies as st

# Captured on this project's Debian 12 machine:
#   dpkg-query --show --showformat='${Package}\t${Version}\t${db:Status-Status}\n' \
#       jq rsync python3-apt docker.io nhnonexistent
# (rc 1; "no packages found matching nhnonexistent" went to stderr).
CAPTURED = (
    "docker.io\t20.10.24+dfsg1-1+deb12u1+b6\tinstalled\n"
    "jq\t1.6-2.1+deb12u1\tinstalled\n"
    "python3-apt\t2.6.0\tinstalled\n"
    "rsync\t3.5.0+ds1-0+deb12u1\tinstalled\n"
)


def test_the_format_gives_three_tab_separated_fields() -> None:
    assert DPKG_QUERY_FORMAT == "${Package}\\t${Version}\\t${db:Status-Status}\\n"


def test_all_installed_means_nothing_missing() -> None:
    assert dpkg_missing(CAPTURED, ["jq", "rsync", "python3-apt", "docker.io"]) == []


def test_a_package_dpkg_does_not_know_is_missing() -> None:
    assert dpkg_missing(CAPTURED, ["jq", "nhnonexistent", "rsync"]) == ["nhnonexistent"]


def test_missing_entries_keep_their_order() -> None:
    assert dpkg_missing("", ["b", "a", "c"]) == ["b", "a", "c"]


@pytest.mark.parametrize("status", ["config-files", "half-installed", "unpacked", "half-configured", "not-installed"])
def test_any_status_but_installed_is_missing(status: str) -> None:
    assert dpkg_missing(f"fuse\t\t{status}\n", ["fuse"]) == ["fuse"]


def test_an_architecture_qualifier_matches_the_plain_name() -> None:
    assert dpkg_missing(CAPTURED, ["jq:amd64"]) == []


@pytest.mark.parametrize(
    ("entry", "missing"),
    [("python3-apt=2.6.0", False), ("python3-apt=2.5.0", True), ("rsync=3.5.0+ds1-0+deb12u1", False)],
)
def test_a_pinned_entry_needs_exactly_that_version(entry: str, missing: bool) -> None:
    assert dpkg_missing(CAPTURED, [entry]) == ([entry] if missing else [])


@pytest.mark.parametrize("entry", ["docker.*", "jq?", "rsync=3.*"])
def test_wildcards_are_left_to_apt(entry: str) -> None:
    assert dpkg_missing(CAPTURED, [entry]) == [entry]


def test_malformed_lines_are_ignored() -> None:
    assert dpkg_missing("garbage\njq installed\n\tx\tinstalled\n", ["jq"]) == ["jq"]


@pytest.mark.parametrize(
    ("output", "wanted", "message"),
    [
        (None, ["jq"], "dpkg-query's standard output as a string, not NoneType"),
        (CAPTURED, "jq", "a list of names, not str"),
        (CAPTURED, {"jq": 1}, "a list of names, not dict"),
        (CAPTURED, ["jq", ""], "a non-empty name, not ''"),
        (CAPTURED, [3], "a non-empty name, not 3"),
    ],
)
def test_bad_arguments_name_what_is_wrong(output: object, wanted: object, message: str) -> None:
    with pytest.raises(PackageQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dpkg_missing(output, wanted)


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+-.", min_size=1, max_size=12).filter(
    lambda n: n[0].isalnum()
)


@given(installed=st.sets(NAMES, max_size=8), wanted=st.lists(NAMES, max_size=8))
def test_missing_is_exactly_the_wanted_names_not_installed(installed: set[str], wanted: list[str]) -> None:
    output = "".join(f"{name}\t1.0\tinstalled\n" for name in sorted(installed))
    assert dpkg_missing(output, wanted) == [w for w in wanted if w not in installed]
