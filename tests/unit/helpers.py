# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the captured trees are, shared by every unit test (the one definition of the fixtures root)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _nesting

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The captured kernel trees: a case directory with expected.yml and its proc/ or sys/ part.
TREE_CASES = sorted(
    p.parent.name
    for p in FIXTURES.glob("*/expected.yml")
    if (p.parent / "proc").is_dir() or (p.parent / "sys").is_dir()
)


def expected(case: str) -> dict[str, Any]:
    """The case's expected.yml."""
    return yaml.safe_load((FIXTURES / case / "expected.yml").read_text())


def tree_args(case: str, with_fs_root: bool = False) -> dict[str, str]:
    """Module options that point ``proc_root``/``sys_root`` (and ``fs_root``) at a captured tree."""
    base = FIXTURES / case
    args = {"proc_root": str(base / "proc"), "sys_root": str(base / "sys")}
    if with_fs_root:
        args["fs_root"] = str(base)
    return args


@functools.lru_cache(maxsize=None)
def _nesting_result(case: str) -> dict[str, Any]:
    base = FIXTURES / case
    result, _warnings = _nesting.gather(str(base / "proc"), str(base / "sys"), "self", str(base))
    args = {**tree_args(case, with_fs_root=True), "pid": "self"}
    return {"changed": False, **result, "invocation": {"module_args": args}}


def captured(case: str) -> dict[str, Any]:
    """The nesting_facts result on the captured tree ``case``, shaped as the module returns it
    (``changed`` and ``invocation`` included); a fresh copy each call, free to change."""
    return copy.deepcopy(_nesting_result(case))
