# SPDX-License-Identifier: GPL-3.0-or-later
"""apparmor_info on the live kernel, where the kernel has AppArmor.

The parsing is proven on captured fixtures in tests/unit; this test runs the module against the
real securityfs and a real Docker container confined by docker-default. Kernels without AppArmor
(this project's CI VMs) skip it with the reason, and the module's "not available" answer there is
checked instead.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "plugins" / "modules"))
from _run_module import run_module  # noqa: E402

SECURITYFS = Path("/sys/kernel/security/apparmor")


def test_apparmor_absent_is_reported_as_not_available() -> None:
    if SECURITYFS.exists():
        pytest.skip("this kernel has AppArmor; test_apparmor_live_host covers it")
    result = run_module("apparmor_info")
    assert result["available"] is False
    assert result["enabled"] is False
    assert result["profiles"] == {}


def test_apparmor_live_host() -> None:
    if not SECURITYFS.exists():
        pytest.skip(
            "real AppArmor not exercised: this kernel has no AppArmor (/sys/kernel/security/apparmor is absent); "
            "the parser is tested on captured fixtures instead"
        )
    result = run_module("apparmor_info")
    assert result["available"] is True
    loaded = {
        line.rsplit(" (", 1)[0]: line.rsplit(" (", 1)[1].rstrip(")")
        for line in (SECURITYFS / "profiles").read_text().splitlines()
        if " (" in line
    }
    assert result["profiles"] == loaded
    if "docker-default" not in loaded:
        pytest.skip("docker-default is not loaded on this host (no container has started under AppArmor yet)")
    name = "nhtest-apparmor-live"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    subprocess.run(["docker", "run", "-d", "--name", name, "nested-hosts/base:bookworm", "sleep", "300"], check=True,
                   capture_output=True)
    try:
        pid = subprocess.run(["docker", "inspect", "-f", "{{.State.Pid}}", name], capture_output=True, text=True,
                             check=True).stdout.strip()
        confined = run_module("apparmor_info", {"pid": pid, "expect_profile": "docker-default", "expect_mode": "enforce"})
        assert confined["current"] == {"profile": "docker-default", "mode": "enforce"}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
