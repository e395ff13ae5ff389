# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for module_utils/_packages.py: the one dpkg-query command, and which wanted packages its output shows missing."""

from __future__ import annotations

import pytest
from ansible_collections.nested.hosts.plugins.module_utils._packages import (
    DPKG_QUERY_FORMAT,
    PackageQueryError,
    dpkg_missing,
    dpkg_query_argv,
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


def test_the_argv_is_the_captured_command() -> None:
    # The command CAPTURED came from, as the roles' command tasks pass it (no shell: dpkg-query
    # itself expands the \t and \n of the format).
    assert dpkg_query_argv(["jq", "rsync", "python3-apt", "docker.io", "nhnonexistent"]) == [
        "dpkg-query",
        "--show",
        "--showformat=${Package}\\t${Version}\\t${db:Status-Status}\\n",
        "jq",
        "rsync",
        "python3-apt",
        "docker.io",
        "nhnonexistent",
    ]


def test_the_argv_asks_by_name_once_each() -> None:
    # A pin is dropped (dpkg-query would take "NAME=VERSION" for an unknown package; dpkg_missing
    # compares the version), qualifiers and wildcards stay, the order is kept, a name asked twice
    # goes once. An empty list gives the bare command (dpkg_missing of [] is [] anyway).
    entries = ["jq:amd64", "python3-apt=2.6.0", "docker.*", "b", "a", "python3-apt"]
    assert dpkg_query_argv(entries)[3:] == ["jq:amd64", "python3-apt", "docker.*", "b", "a"]
    assert dpkg_query_argv(()) == ["dpkg-query", "--show", "--showformat=" + DPKG_QUERY_FORMAT]


def test_a_pin_at_the_installed_version_needs_no_apt() -> None:
    # The argv's output for a pinned entry is the plain name's line, so the pin can be compared.
    assert dpkg_query_argv(["python3-apt=2.6.0"])[3:] == ["python3-apt"]
    assert dpkg_missing(CAPTURED, ["python3-apt=2.6.0"]) == []
    assert dpkg_missing(CAPTURED, ["python3-apt=9.9"]) == ["python3-apt=9.9"]


def test_the_argv_is_a_new_list_of_plain_strings() -> None:
    wanted = ["jq"]
    argv = dpkg_query_argv(wanted)
    argv.append("rsync")
    assert wanted == ["jq"]
    assert all(isinstance(arg, str) and "\t" not in arg and "\n" not in arg for arg in argv)


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


WANTED_ERRORS = pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("jq", "a list of names, not str"),
        (b"jq", "a list of names, not bytes"),
        ({"jq": 1}, "a list of names, not dict"),
        (None, "a list of names, not NoneType"),
        (["jq", ""], "a non-empty name, not ''"),
        (["jq", "  "], "a non-empty name, not '  '"),
        ([3], "a non-empty name, not 3"),
    ],
)


@WANTED_ERRORS
def test_the_argv_refuses_what_is_not_a_list_of_names(wanted: object, message: str) -> None:
    with pytest.raises(PackageQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dpkg_query_argv(wanted)


@WANTED_ERRORS
def test_dpkg_missing_refuses_the_same_wanted_lists(wanted: object, message: str) -> None:
    with pytest.raises(PackageQueryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dpkg_missing(CAPTURED, wanted)


@pytest.mark.parametrize(
    ("output", "wanted", "message"),
    [
        (None, ["jq"], "dpkg-query's standard output as a string, not NoneType"),
        (["jq\t1.6\tinstalled"], ["jq"], "dpkg-query's standard output as a string, not list"),
        # the output is checked first
        (None, "jq", "dpkg-query's standard output as a string, not NoneType"),
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


@given(wanted=st.lists(NAMES, max_size=8))
def test_the_argv_ends_with_each_wanted_name_once(wanted: list[str]) -> None:
    argv = dpkg_query_argv(wanted)
    assert argv[:3] == ["dpkg-query", "--show", "--showformat=" + DPKG_QUERY_FORMAT]
    assert argv[3:] == list(dict.fromkeys(wanted))


@given(wanted=st.lists(st.tuples(NAMES, st.sampled_from(["", "=1.0", "=2:3.4-1"])).map("".join), max_size=8))
def test_a_pinned_entry_is_judged_on_its_name_line(wanted: list[str]) -> None:
    # What dpkg_missing reads is what the argv asked for: every name's line, pins compared there.
    names = dpkg_query_argv(wanted)[3:]
    output = "".join(f"{name}\t1.0\tinstalled\n" for name in names)
    assert dpkg_missing(output, wanted) == [w for w in wanted if "=" in w and not w.endswith("=1.0")]
