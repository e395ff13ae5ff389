# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a real module with ``ansible localhost -m`` and return its JSON result.

The unit tests run modules in-process (the ``run_module`` fixture of tests/unit/conftest.py); this is for
the few tests that run a module as a user does, through ``ansible`` (one unit test, the integration tests).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def ansible_bin() -> str:
    candidate = Path(sys.executable).with_name("ansible")
    return (
        str(candidate) if candidate.exists() else (shutil.which("ansible") or "ansible")
    )


def run_module(
    name: str, args: dict[str, str] | None = None, check: bool = False
) -> dict:
    """Return the host result of ``nested.hosts.<name>`` run on localhost."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        LANG="C.UTF-8",
    )
    argv = [ansible_bin(), "localhost", "-m", f"nested.hosts.{name}"]
    if args:
        argv += ["-a", json.dumps(args)]
    if check:
        argv.append("--check")
    proc = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    try:
        document = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:  # show what ansible printed instead of JSON
        raise AssertionError(
            f"no JSON from {argv}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        ) from exc
    return document["plays"][0]["tasks"][0]["hosts"]["localhost"]
