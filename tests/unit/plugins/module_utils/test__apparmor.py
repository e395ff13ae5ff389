# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_apparmor.py.

The captured trees come from a kernel without AppArmor, so the AppArmor-enabled paths are tested on small
trees built here in the securityfs formats (``name (mode)`` lines, ``attr/current`` labels).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _apparmor
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

CASES = sorted(
    p.parent.name
    for p in FIXTURES.glob("*/expected.yml")
    if (p.parent / "proc").is_dir() or (p.parent / "sys").is_dir()
)


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    base = FIXTURES / case
    expected = yaml.safe_load((base / "expected.yml").read_text())["apparmor"]
    result, _warnings = _apparmor.gather(str(base / "proc"), str(base / "sys"), "self")
    assert result == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "docker-default (enforce)\n", {"docker-default": "enforce"}, id="one"
        ),
        pytest.param(
            "/usr/bin/man (enforce)\nman_groff (enforce)\nlsb_release (complain)\nunprivileged_userns (kill)\n",
            {
                "/usr/bin/man": "enforce",
                "man_groff": "enforce",
                "lsb_release": "complain",
                "unprivileged_userns": "kill",
            },
            id="several-modes",
        ),
        pytest.param(
            "/snap/a//child (unconfined)\n",
            {"/snap/a//child": "unconfined"},
            id="child-profile",
        ),
        pytest.param(
            "name with space (enforce)\n",
            {"name with space": "enforce"},
            id="space-in-name",
        ),
        pytest.param("\nno-mode-here\n", {}, id="malformed"),
    ],
)
def test_parse_profiles(text: str, expected: dict[str, str]) -> None:
    assert _apparmor.parse_profiles(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "docker-default (enforce)\n",
            {"profile": "docker-default", "mode": "enforce"},
            id="confined",
        ),
        pytest.param(
            "unconfined\n", {"profile": "unconfined", "mode": None}, id="unconfined"
        ),
        pytest.param("", None, id="empty"),
        pytest.param("\0", None, id="nul-only"),
        pytest.param("system_u:system_r:container_t:s0:c1,c2\n", None, id="selinux-context-is-not-apparmor"),
        pytest.param(None, None, id="missing"),
    ],
)
def test_parse_current(text: str | None, expected: dict | None) -> None:
    assert _apparmor.parse_current(text) == expected


def _tree(
    tmp_path: Path,
    profiles: str | None,
    current: str | None,
    enabled: str = "Y\n",
    userns: str | None = None,
) -> tuple[str, str]:
    sys_root, proc_root = tmp_path / "sys", tmp_path / "proc"
    (sys_root / "module" / "apparmor" / "parameters").mkdir(parents=True)
    (sys_root / "module" / "apparmor" / "parameters" / "enabled").write_text(enabled)
    (sys_root / "kernel" / "security" / "apparmor").mkdir(parents=True)
    if profiles is not None:
        (sys_root / "kernel" / "security" / "apparmor" / "profiles").write_text(
            profiles
        )
    (proc_root / "self" / "attr" / "apparmor").mkdir(parents=True)
    if current is not None:
        (proc_root / "self" / "attr" / "apparmor" / "current").write_text(current)
    if userns is not None:
        (proc_root / "sys" / "kernel").mkdir(parents=True)
        (
            proc_root / "sys" / "kernel" / "apparmor_restrict_unprivileged_userns"
        ).write_text(userns)
    return str(proc_root), str(sys_root)


def test_enabled_host_with_docker_default(tmp_path: Path) -> None:
    proc, sys = _tree(
        tmp_path,
        "docker-default (enforce)\n/usr/sbin/ntpd (enforce)\n",
        "unconfined\n",
        userns="1\n",
    )
    result, warnings = _apparmor.gather(proc, sys, "self")
    assert warnings == []
    assert result == {
        "available": True,
        "enabled": True,
        "profiles": {"docker-default": "enforce", "/usr/sbin/ntpd": "enforce"},
        "current": {"profile": "unconfined", "mode": None},
        "docker_default_loaded": True,
        "restrict_unprivileged_userns": 1,
    }


def test_confined_container_falls_back_to_attr_current(tmp_path: Path) -> None:
    proc, sys = _tree(tmp_path, None, None)
    (Path(proc) / "self" / "attr" / "current").write_text("docker-default (enforce)\n")
    result, warnings = _apparmor.gather(proc, sys, "self")
    assert result["current"] == {"profile": "docker-default", "mode": "enforce"}
    assert result["profiles"] is None and result["docker_default_loaded"] is None
    assert any("profiles does not exist" in w for w in warnings)


@pytest.mark.parametrize(
    ("label", "available"),
    [
        pytest.param("docker-default (enforce)\n", True, id="label-proves-apparmor"),
        pytest.param("", False, id="empty-label-proves-nothing"),
    ],
)
def test_label_without_sys_files(tmp_path: Path, label: str, available: bool) -> None:
    """Inside a container securityfs is often not mounted: the process's own AppArmor label still counts."""
    attr = tmp_path / "proc" / "self" / "attr" / "apparmor"
    attr.mkdir(parents=True)
    (attr / "current").write_text(label)
    result, warnings = _apparmor.gather(
        str(tmp_path / "proc"), str(tmp_path / "sys"), "self"
    )
    assert result["available"] is available
    if available:
        assert result["current"] == {"profile": "docker-default", "mode": "enforce"}
        assert result["enabled"] is None and result["profiles"] is None
        assert any("parameters/enabled does not exist" in w for w in warnings)
    else:
        assert result["current"] is None and warnings == []


def test_empty_attr_current_is_unconfined(tmp_path: Path) -> None:
    proc, sys = _tree(tmp_path, "", "")
    result, _warnings = _apparmor.gather(proc, sys, "self")
    assert result["current"] == {"profile": "unconfined", "mode": None}


def test_not_available(tmp_path: Path) -> None:
    result, warnings = _apparmor.gather(str(tmp_path), str(tmp_path), "self")
    assert result["available"] is False and result["enabled"] is False
    assert result["profiles"] == {} and result["current"] is None
    assert warnings == []


@pytest.mark.parametrize(
    ("profile", "mode", "fails_with"),
    [
        pytest.param(None, None, None, id="no-expectation"),
        pytest.param("docker-default", None, None, id="loaded"),
        pytest.param("docker-default", "enforce", None, id="loaded-in-mode"),
        pytest.param(
            "docker-default", "complain", "not expect_mode='complain'", id="wrong-mode"
        ),
        pytest.param("lxc-container-default", None, "is not loaded", id="not-loaded"),
    ],
)
def test_check_expectation(
    profile: str | None, mode: str | None, fails_with: str | None
) -> None:
    result = _apparmor.analyze(
        True, "Y", "docker-default (enforce)\n", "unconfined", None
    )
    message = _apparmor.check_expectation(result, profile, mode)
    if fails_with is None:
        assert message is None
    else:
        assert (
            message is not None
            and fails_with in message
            and "expect_profile" in message
        )


def test_check_expectation_without_apparmor() -> None:
    result = _apparmor.analyze(False, None, None, None, None)
    assert "not available" in (
        _apparmor.check_expectation(result, "docker-default", None) or ""
    )


@pytest.mark.parametrize(
    ("label", "available", "current"),
    [
        pytest.param("docker-default (enforce)\n", True, {"profile": "docker-default", "mode": "enforce"},
                     id="apparmor-label-in-legacy-file"),
        pytest.param("lxc-container-default-cgns (enforce)\n", True,
                     {"profile": "lxc-container-default-cgns", "mode": "enforce"}, id="lxc-label"),
        pytest.param("system_u:system_r:container_t:s0:c123,c456\n", False, None, id="selinux-context"),
        pytest.param("unconfined\n", False, None, id="bare-unconfined-proves-nothing"),
        pytest.param("something (weird)\n", False, None, id="unknown-mode"),
    ],
)
def test_legacy_attr_current_label(tmp_path: Path, label: str, available: bool, current: dict | None) -> None:
    """securityfs hidden and no attr/apparmor/current: a 'name (mode)' label in attr/current is AppArmor's."""
    attr = tmp_path / "proc" / "self" / "attr"
    attr.mkdir(parents=True)
    (attr / "current").write_text(label)
    result, warnings = _apparmor.gather(str(tmp_path / "proc"), str(tmp_path / "sys"), "self")
    assert result["available"] is available
    assert result["current"] == current
    assert any("taken as available" in w for w in warnings) is available
