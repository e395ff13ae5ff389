# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run nested.hosts.cgroup_info for real (ansible localhost -m) on captured trees."""

from __future__ import annotations

import pytest
import yaml
from _run_module import FIXTURES, run_module, tree_args


@pytest.mark.parametrize(
    "case", ["docker-default", "docker-cgroupns-private", "systemd-nspawn"]
)
def test_on_captured_tree(case: str) -> None:
    expected = yaml.safe_load((FIXTURES / case / "expected.yml").read_text())["cgroup"]
    result = run_module("cgroup_info", tree_args(case))
    assert result["changed"] is False
    for key, value in expected.items():
        assert result[key] == value, key


def test_proc_root_missing_fails() -> None:
    result = run_module("cgroup_info", {"proc_root": "/nonexistent/proc"})
    assert result["failed"] is True and "proc_root='/nonexistent/proc'" in result["msg"]
