# SPDX-License-Identifier: GPL-3.0-or-later
"""Run every Molecule scenario of the collection, each as one test.

A scenario passes only when ``molecule test`` (create, converge, idempotence, verify,
destroy) exits 0. The full log goes to ``build/molecule/<scenario>.log``; on failure the
message leads with the log's first failure and its task's decoded result, then the log's end
(molecule_log.py): the end alone is the destroy step's output.
``NH_MOLECULE_SCENARIOS=a,b`` limits the run to those scenarios.

Besides the collection's own ``molecule/<scenario>``, the example roles under ``tests/roles``
(not shipped) carry their scenarios as role authors do, ``tests/roles/<role>/molecule/<scenario>``;
they are named ``<role>/<scenario>`` and run from the role's directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import background
import molecule_log
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# Scenarios that boot QEMU guests with scripts/hostlab.py: skipped only where QEMU cannot boot one.
GUEST_SCENARIOS = frozenset({"modern_host"})
MOLECULE_DIR = REPO_ROOT / "molecule"
ROLES_DIR = REPO_ROOT / "tests" / "roles"
# The same log directory the background runs write to.
LOG_DIR = background.LOG_DIR


def _scenarios() -> list[str]:
    found = sorted(p.parent.name for p in MOLECULE_DIR.glob("*/molecule.yml"))
    found += sorted(f"{p.parents[2].name}/{p.parent.name}" for p in ROLES_DIR.glob("*/molecule/*/molecule.yml"))
    wanted = os.environ.get("NH_MOLECULE_SCENARIOS")
    if wanted:
        names = [n.strip() for n in wanted.split(",") if n.strip()]
        unknown = sorted(set(names) - set(found))
        if unknown:
            raise ValueError(f"NH_MOLECULE_SCENARIOS names unknown scenarios {unknown}; known: {found}")
        return names
    return found


def _run_scenario(scenario: str) -> str:
    """Run ``molecule test -s scenario``; fail with its first failure unless it exits 0; return the log."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    role, name = scenario.rsplit("/", 1) if "/" in scenario else ("", scenario)
    cwd = ROLES_DIR / role if role else REPO_ROOT
    log_path = LOG_DIR / f"{scenario.replace('/', '-')}.log"
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.run(
            background.molecule_argv(sys.executable, "test", name),
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    elapsed = time.monotonic() - started
    print(f"molecule scenario {scenario}: exit {proc.returncode} in {elapsed:.0f} s (log: {log_path})")
    if proc.returncode != 0:
        _fail_with_log(f"molecule test -s {scenario} exited {proc.returncode} after {elapsed:.0f} s", log_path)
    return log_path.read_text(errors="replace")


def _fail_with_log(headline: str, log_path: Path) -> NoReturn:
    """Fail with the log's first failure, its task's decoded result and the log's end (molecule_log.py)."""
    summary = molecule_log.failure_summary(log_path.read_text(errors="replace")) if log_path.exists() else "(no log)"
    where = "" if str(log_path) in headline else f" (log: {log_path})"
    pytest.fail(f"{headline}{where}:\n{summary}")


def _skip_unless_guests_boot() -> None:
    """Skip (printing why) only when ``hostlab.py check`` says QEMU cannot boot a guest here."""
    proc = subprocess.run([sys.executable, str(background.HOSTLAB), "check"], capture_output=True, text=True, check=False)
    print(proc.stdout.strip())
    if proc.returncode == background.HOSTLAB_CANNOT_BOOT:
        pytest.skip(f"not run, QEMU cannot boot a guest here: {proc.stdout.strip()}")
    assert proc.returncode == 0, f"hostlab.py check failed: {proc.stdout}{proc.stderr}"


def _background_result(run: background.Run) -> str:
    """Wait for a guest scenario's background run (started at collection, see background.py)."""
    run.done.wait()
    print(
        f"molecule scenario {run.scenario}: ran in the background beside the other tests "
        f"(prebuild {run.prebuild_s:.0f} s, then molecule exit {run.returncode} in {run.elapsed:.0f} s; "
        f"log: {run.log_path})"
    )
    if run.skip_reason:
        pytest.skip(run.skip_reason)
    if run.error:
        _fail_with_log(run.error, run.log_path)
    if run.returncode != 0:
        _fail_with_log(
            f"molecule test -s {run.scenario} exited {run.returncode} after {run.elapsed:.0f} s", run.log_path
        )
    return run.log_path.read_text(errors="replace")


@pytest.mark.parametrize("scenario", _scenarios())
def test_molecule_scenario(scenario: str) -> None:
    run = background.RUNS.get(scenario)
    if run is not None:
        log = _background_result(run)
    else:
        if scenario in GUEST_SCENARIOS:
            _skip_unless_guests_boot()
        log = _run_scenario(scenario)
    if scenario == "sysbox":
        # The scenario says which package it installed; a stand-in run must never pass for a real one.
        expected = "MODE: REAL" if os.environ.get("SYSBOX_PACKAGE") else "MODE: STAND-IN"
        assert expected in log, f"the sysbox scenario did not report {expected!r}"
        print(next(line.strip() for line in log.splitlines() if "MODE:" in line))
    if scenario == "modern_host":
        # The guest only ever installs the stand-in: its log must say so, never pass for Sysbox.
        assert "MODE: STAND-IN" in log and "MODE: REAL" not in log, "the modern_host scenario did not report MODE: STAND-IN"
        print(next(line.strip() for line in log.splitlines() if "MODE: STAND-IN" in line))


def test_sysbox_real_package() -> None:
    """The real Sysbox install and userns smoke test, where a package and a fitting kernel exist."""
    if not os.environ.get("SYSBOX_PACKAGE"):
        pytest.skip(
            "real Sysbox not run: SYSBOX_PACKAGE is not set (the sysbox-ce .deb cannot be downloaded on this "
            "project's machines); the sysbox scenario ran with its stand-in package, which is not a Sysbox run"
        )
    log = _run_scenario("sysbox")
    assert "MODE: REAL" in log
