# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every Molecule scenario of the collection, each as one test.

A scenario passes only when ``molecule test`` (create, converge, idempotence, verify,
destroy) exits 0. The full log goes to ``build/molecule/<scenario>.log``; on failure its
tail is shown. ``NH_MOLECULE_SCENARIOS=a,b`` limits the run to those scenarios.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MOLECULE_DIR = REPO_ROOT / "molecule"
LOG_DIR = REPO_ROOT / "build" / "molecule"


def _scenarios() -> list[str]:
    found = sorted(p.parent.name for p in MOLECULE_DIR.glob("*/molecule.yml"))
    wanted = os.environ.get("NH_MOLECULE_SCENARIOS")
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        unknown = sorted(set(names) - set(found))
        if unknown:
            raise ValueError(f"NH_MOLECULE_SCENARIOS names unknown scenarios {unknown}; known: {found}")
        return names
    return found


def _molecule() -> str:
    candidate = Path(sys.executable).with_name("molecule")
    return str(candidate) if candidate.exists() else "molecule"


@pytest.mark.parametrize("scenario", _scenarios())
def test_molecule_scenario(scenario: str) -> None:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{scenario}.log"
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.run(
            [_molecule(), "test", "-s", scenario],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    print(f"molecule scenario {scenario}: exit {proc.returncode} in {elapsed:.0f} s (log: {log_path})")
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-80:])
        pytest.fail(f"molecule test -s {scenario} exited {proc.returncode} after {elapsed:.0f} s; log tail:\n{tail}")
