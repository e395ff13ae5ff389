# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``run_module``: the one way the unit tests run a module, in-process through its ``main()``."""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable

import pytest
from ansible.module_utils import _internal
from ansible.module_utils.common import warnings as module_warnings
from ansible.module_utils.testing import patch_module_args

RunModule = Callable[..., "dict[str, Any]"]


def _warning_text(item: Any) -> str:
    """A warning as its message: plain text, or the ``event.msg`` of a WarningSummary record."""
    if isinstance(item, dict):
        return str((item.get("event") or {}).get("msg", item))
    return str(item)


@pytest.fixture
def run_module(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunModule:
    """``run_module(name, args=None, check_mode=False, diff=False, **more)`` runs ``nested.hosts.<name>``
    with ``args`` and ``more`` as its options and returns the result it prints (``warnings`` as texts)."""

    def run(
        name: str, args: dict[str, Any] | None = None, check_mode: bool = False, diff: bool = False, **more: Any
    ) -> dict[str, Any]:
        module = importlib.import_module(f"ansible_collections.nested.hosts.plugins.modules.{name}")
        options = {**(args or {}), **more}
        if check_mode:
            options["_ansible_check_mode"] = True
        if diff:
            options["_ansible_diff"] = True
        # A module runs on a managed host: its warnings go into its result, even after another test has
        # imported controller code (which routes them to the controller's display instead).
        monkeypatch.setattr(_internal, "is_controller", False)
        module_warnings._global_warnings.clear()
        capsys.readouterr()
        with patch_module_args(options), pytest.raises(SystemExit):
            module.main()
        result: dict[str, Any] = json.loads(capsys.readouterr().out)
        if "warnings" in result:
            result["warnings"] = [_warning_text(item) for item in result["warnings"]]
        return result

    return run
