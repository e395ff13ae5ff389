# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run nested.hosts.cgroup_info on captured trees."""

from __future__ import annotations

import pytest
from ansible_collections.nested.hosts.tests.unit.helpers import expected, tree_args


@pytest.mark.parametrize(
    "case", ["docker-default", "docker-cgroupns-private", "systemd-nspawn"]
)
def test_on_captured_tree(run_module, case: str) -> None:
    want = expected(case)["cgroup"]
    result = run_module("cgroup_info", tree_args(case))
    assert result["changed"] is False
    for key, value in want.items():
        assert result[key] == value, key


def test_proc_root_missing_fails(run_module) -> None:
    result = run_module("cgroup_info", {"proc_root": "/nonexistent/proc"})
    assert result["failed"] is True and "proc_root='/nonexistent/proc'" in result["msg"]
