# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run nested.hosts.apparmor_info on a captured tree and on trees in the securityfs formats."""

from __future__ import annotations

from pathlib import Path

from ansible_collections.nested.hosts.tests.unit.helpers import tree_args


def _apparmor_tree(tmp_path: Path) -> dict[str, str]:
    """A tree in the securityfs formats: docker-default loaded in enforce mode, the process unconfined."""
    (tmp_path / "sys/module/apparmor/parameters").mkdir(parents=True)
    (tmp_path / "sys/module/apparmor/parameters/enabled").write_text("Y\n")
    (tmp_path / "sys/kernel/security/apparmor").mkdir(parents=True)
    (tmp_path / "sys/kernel/security/apparmor/profiles").write_text(
        "docker-default (enforce)\n"
    )
    (tmp_path / "proc/self/attr").mkdir(parents=True)
    (tmp_path / "proc/self/attr/current").write_text("unconfined\n")
    return {"proc_root": str(tmp_path / "proc"), "sys_root": str(tmp_path / "sys")}


def test_not_available_on_captured_host(run_module) -> None:
    result = run_module("apparmor_info", tree_args("host-debian12-hybrid-vm"))
    assert result["available"] is False and result["profiles"] == {}


def test_expect_profile_passes_and_fails(run_module, tmp_path: Path) -> None:
    args = _apparmor_tree(tmp_path)
    ok = run_module(
        "apparmor_info",
        {**args, "expect_profile": "docker-default", "expect_mode": "enforce"},
    )
    assert ok.get("failed") is not True and ok["docker_default_loaded"] is True
    wrong_mode = run_module(
        "apparmor_info",
        {**args, "expect_profile": "docker-default", "expect_mode": "complain"},
    )
    assert (
        wrong_mode["failed"] is True and "expect_mode='complain'" in wrong_mode["msg"]
    )
    absent = run_module(
        "apparmor_info", {**args, "expect_profile": "lxc-container-default"}
    )
    assert absent["failed"] is True and "is not loaded" in absent["msg"]


def test_expect_mode_requires_expect_profile(run_module) -> None:
    result = run_module("apparmor_info", {"expect_mode": "enforce"})
    assert result["failed"] is True and "expect_profile" in result["msg"]
