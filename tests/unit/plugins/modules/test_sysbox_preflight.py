# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the real sysbox_preflight module on captured trees assembled in a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

SYSBOX = FIXTURES / "sysbox"


def make_tree(tmp_path: Path, pid1: str, mountinfo: str, route: str, os_release: str) -> dict[str, str]:
    proc = tmp_path / "proc"
    for rel, text in {
        "1/comm": pid1 + "\n",
        "self/mountinfo": (SYSBOX / "mountinfo" / mountinfo).read_text(),
        "net/route": (SYSBOX / "route" / route).read_text(),
        "sys/kernel/osrelease": "6.1.0-26-amd64\n",
        "sys/user/max_user_namespaces": "63445\n",
    }.items():
        path = proc / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "sys").mkdir()
    (tmp_path / "root").mkdir()
    return {
        "proc_root": str(proc),
        "sys_root": str(tmp_path / "sys"),
        "fs_root": str(tmp_path / "root"),
        "os_release_path": str(SYSBOX / "os-release" / os_release),
        "architecture": "x86_64",
    }


def test_systemd_node_with_volumes_passes(run_module, tmp_path: Path) -> None:
    result = run_module("sysbox_preflight", **make_tree(tmp_path, "systemd", "docker-container-volumes", "vm-host", "debian-12"))
    assert result["changed"] is False
    assert result["ok"] is True
    assert result["failed_checks"] == []
    assert result["distribution"] == "debian"
    assert result["distribution_version"] == "12"
    assert result["package_architecture"] == "amd64"
    assert result["bip"] == "172.17.0.1/16"
    assert result["default_address_pools"] == [{"base": "172.25.0.0/16", "size": 24}]
    assert [c["id"] for c in result["checks"]][:4] == ["distro", "kernel", "arch", "pid1_systemd"]


def test_vm_host_fails_on_pid1_and_suggests_free_pool(run_module, tmp_path: Path) -> None:
    result = run_module("sysbox_preflight", **make_tree(tmp_path, "process_api", "vm-host", "vm-host-172.20-172.25-taken", "debian-12"), pool_size=26)
    assert result["ok"] is False
    assert result["failed_checks"] == ["pid1_systemd"]
    failed = next(c for c in result["checks"] if c["id"] == "pid1_systemd")
    assert "process_api" in failed["message"] and failed["fix"]
    assert result["default_address_pools"] == [{"base": "172.26.0.0/16", "size": 26}]


def test_container_overlay_root_fails_filesystems(run_module, tmp_path: Path) -> None:
    result = run_module("sysbox_preflight", **make_tree(tmp_path, "systemd", "docker-container-overlay", "vm-host", "ubuntu-22.04"))
    assert result["failed_checks"] == ["fs_var_lib_docker", "fs_var_lib_sysbox"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"proc_root": "/nonexistent/proc"}, "proc_root='/nonexistent/proc' does not exist"),
        ({"fs_root": "/nonexistent/root"}, "fs_root='/nonexistent/root' does not exist"),
        ({"pid": "init"}, "pid='init' is not valid"),
        ({"pool_size": 8}, "pool_size=8 is outside 16..30"),
    ],
)
def test_bad_input_fails_with_one_clear_message(run_module, args: dict[str, Any], message: str) -> None:
    result = run_module("sysbox_preflight", **args)
    assert result["failed"] is True
    assert message in result["msg"]


def test_missing_os_release_warns_and_fails_distro(run_module, tmp_path: Path) -> None:
    args = make_tree(tmp_path, "systemd", "docker-container-volumes", "vm-host", "debian-12")
    args["os_release_path"] = str(tmp_path / "absent-os-release")
    result = run_module("sysbox_preflight", args)
    assert "distro" in result["failed_checks"]
    assert any("absent-os-release does not exist" in text for text in result["warnings"])
