# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run nested.hosts.nesting_facts on captured trees and on this machine."""

from __future__ import annotations

import os

import pytest
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES, expected, tree_args


@pytest.mark.parametrize(
    "case",
    [
        "host-debian12-hybrid-vm",
        "docker-privileged-equivalent",
        "podman-default",
        "userns-unshare",
    ],
)
def test_on_captured_tree(run_module, case: str) -> None:
    want = expected(case)["nesting"]
    result = run_module("nesting_facts", tree_args(case, with_fs_root=True))
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    for key in (
        "in_container",
        "container_runtime",
        "profile",
        "recommended_run_flags",
        "recommended_container_options",
        "can_nest_docker",
    ):
        assert result[key] == want[key], key
    assert result["capabilities"]["missing_from_bounding"] == want["missing_from_bounding"]


def test_missing_file_warns(run_module, tmp_path) -> None:
    (tmp_path / "proc").mkdir()
    result = run_module(
        "nesting_facts",
        {
            "proc_root": str(tmp_path / "proc"),
            "sys_root": str(tmp_path / "sys"),
            "fs_root": str(tmp_path),
        },
    )
    assert result.get("failed") is not True
    assert result["capabilities"]["effective"] is None
    assert any("status does not exist" in w for w in result.get("warnings", []))


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ({"proc_root": "/nonexistent/proc"}, ["proc_root", "/nonexistent/proc"]),
        ({"fs_root": "/nonexistent/root"}, ["fs_root"]),
        ({"pid": "one"}, ["pid"]),
        ({"engine_capabilities": ["SYS_ADMIN", "FLY"]}, ["engine_capabilities", "FLY"]),
        ({"docker_version": "command not found"}, ["docker_version", "docker version"]),
    ],
)
def test_bad_input_fails_naming_the_parameter(run_module, args: dict, names: list[str]) -> None:
    result = run_module("nesting_facts", args)
    assert result["failed"] is True
    for name in names:
        assert name in result["msg"]


@pytest.mark.skipif(
    not os.path.isfile("/proc/self/status"), reason="needs a Linux /proc"
)
def test_live_machine_runs(run_module) -> None:
    result = run_module("nesting_facts")
    assert result.get("failed") is not True, result.get("msg")
    assert result["profile"] in ("privileged", "privileged-equivalent", "none")
    assert isinstance(result["capabilities"]["bounding"], list)


@pytest.mark.parametrize(
    ("case", "finding_ids"),
    [
        ("mtu-ifconfig-1450", ["mtu-below-default"]),
        ("systemd257-node-cgroup-v1", ["systemd-cgroup-v1-deprecated", "storage-overlay-on-overlay"]),
    ],
)
def test_findings_on_captured_trees(run_module, case: str, finding_ids: list[str]) -> None:
    """A tree with only its sys/ part is read, not refused; findings come with their fix."""
    result = run_module("nesting_facts", tree_args(case, with_fs_root=True))
    assert result.get("failed") is not True, result.get("msg")
    assert [finding["id"] for finding in result["findings"]] == finding_ids
    assert all(finding["fix"] for finding in result["findings"])
    assert result["container_runtime"] == expected(case)["nesting"]["container_runtime"]


def test_docker_version_option_gives_versions_and_the_finding(run_module) -> None:
    text = (FIXTURES / "docker-version" / "kitconcept-9-client-1.41.txt").read_text()
    result = run_module("nesting_facts", {**tree_args("host-debian12-hybrid-vm", with_fs_root=True), "docker_version": text})
    assert result.get("failed") is not True, result.get("msg")
    assert result["docker"]["refused_client_api"] == "1.41"
    assert [f["id"] for f in result["findings"]] == ["docker-client-too-old"]
    assert run_module("nesting_facts", tree_args("host-debian12-hybrid-vm", with_fs_root=True))["docker"] is None
