# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the guest Molecule scenario in the background while the rest of the suite runs.

The guest scenario spends most of its time inside an emulated QEMU guest (TCG), reached over SSH:
it touches this machine's Docker daemon only to build the trixie images (its prepare step) and to
``docker save`` them. Every other integration test works on this machine's daemon and takes strict
snapshots of its objects. So the images are built first, before any other integration test
starts (the "prebuild"), and only then is ``molecule test`` started, under ``nice`` so that the
foreground tests keep their share of the two cores; its prepare step then finds the images current
and only reads them.

The guest's test is moved to the end of the run and waits there for the background process; it
passes only when ``molecule test`` exited 0, exactly as in the foreground. ``NH_GUEST_BACKGROUND=0``
runs it in the foreground, in its place, instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]
HOSTLAB = REPO_ROOT / "scripts" / "hostlab.py"
LOG_DIR = REPO_ROOT / "build" / "molecule"
# What each guest scenario's prepare step builds on this machine's daemon.
PREBUILD = {"modern_host": REPO_ROOT / "molecule" / "shared" / "ensure_trixie_images.yml"}
# hostlab.py check exits 3 when QEMU cannot boot a guest on this machine.
HOSTLAB_CANNOT_BOOT = 3
NICENESS = 10
# Seconds the background molecule run may take before it is stopped (NH_GUEST_TIMEOUT_S): CI has
# a hard limit, and a hung guest must fail with its log instead of eating it. The scenario takes
# 40-50 minutes under emulation beside the other tests, more on a slow day; 4000 s plus the set-up
# before pytest (about 7 minutes) keeps even a stopped run within CI's 75 minutes.
DEFAULT_TIMEOUT_S = 4000


def enabled(environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether guest scenarios run in the background (NH_GUEST_BACKGROUND unset or not "0")."""
    return environ.get("NH_GUEST_BACKGROUND", "1").strip() != "0"


def reorder(nodeids: list[str], is_guest: list[bool]) -> list[int]:
    """Return the indexes of the tests in run order: the guest tests last, each group in its order."""
    return [i for i, guest in enumerate(is_guest) if not guest] + [i for i, guest in enumerate(is_guest) if guest]


def molecule_argv(python: str, action: str, scenario: str) -> list[str]:
    """The argv of ``molecule ACTION -s scenario`` with this venv's molecule."""
    candidate = Path(python).with_name("molecule")
    return [str(candidate) if candidate.exists() else "molecule", action, "-s", scenario]


def niced(argv: list[str]) -> list[str]:
    """argv run under nice, so that the foreground tests keep their share of the cores."""
    return ["nice", "-n", str(NICENESS), *argv]


def timeout_s(environ: dict[str, str] | os._Environ[str]) -> float:
    """The background run's time limit: NH_GUEST_TIMEOUT_S, a positive number of seconds."""
    raw = environ.get("NH_GUEST_TIMEOUT_S", "").strip()
    if not raw:
        return float(DEFAULT_TIMEOUT_S)
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"NH_GUEST_TIMEOUT_S={raw!r}: give a positive number of seconds (default {DEFAULT_TIMEOUT_S})")
    return value


@dataclass
class Run:
    """One guest scenario's background run and what it came to."""

    scenario: str
    log_path: Path
    skip_reason: str = ""
    error: str = ""
    returncode: int | None = None
    started_at: float = 0.0
    elapsed: float = 0.0
    prebuild_s: float = 0.0
    timeout_s: float = float(DEFAULT_TIMEOUT_S)
    prebuilt: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


def _log(handle: IO[str], text: str) -> None:
    handle.write(f"[background {time.strftime('%H:%M:%S')}] {text}\n")
    handle.flush()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process group: SIGTERM, then SIGKILL after 30 s."""
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _work(run: Run, env: dict[str, str]) -> None:
    """Prebuild, then molecule test; always sets both events."""
    try:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with run.log_path.open("w") as log:
            check = subprocess.run(
                [sys.executable, str(HOSTLAB), "check"], capture_output=True, text=True, check=False
            )
            _log(log, f"hostlab.py check: exit {check.returncode}: {check.stdout.strip()}")
            if check.returncode == HOSTLAB_CANNOT_BOOT:
                run.skip_reason = f"not run, QEMU cannot boot a guest here: {check.stdout.strip()}"
                return
            if check.returncode != 0:
                run.error = f"hostlab.py check failed: {check.stdout}{check.stderr}"
                return
            playbook = PREBUILD.get(run.scenario)
            if playbook is not None:
                started = time.monotonic()
                _log(log, f"prebuild: ansible-playbook {playbook.relative_to(REPO_ROOT)}")
                built = subprocess.run(
                    [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                     "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT, check=False,
                )  # fmt: skip
                run.prebuild_s = time.monotonic() - started
                if built.returncode != 0:
                    run.error = f"the prebuild {playbook.name} exited {built.returncode} (log: {run.log_path})"
                    return
            run.prebuilt.set()
            _log(log, f"molecule test -s {run.scenario}, niceness {NICENESS}")
            log.flush()
            run.started_at = time.monotonic()
            proc = subprocess.Popen(
                niced(molecule_argv(sys.executable, "test", run.scenario)), stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=REPO_ROOT, start_new_session=True,
            )  # fmt: skip
            try:
                run.returncode = proc.wait(timeout=run.timeout_s)
            except subprocess.TimeoutExpired:
                _stop(proc)
                _log(log, f"stopped after {run.timeout_s:.0f} s (NH_GUEST_TIMEOUT_S); molecule destroy -s {run.scenario}")
                subprocess.run(molecule_argv(sys.executable, "destroy", run.scenario), stdout=log, stderr=subprocess.STDOUT,
                               env=env, cwd=REPO_ROOT, check=False, timeout=600)  # fmt: skip
                run.error = (
                    f"molecule test -s {run.scenario} did not finish within {run.timeout_s:.0f} s "
                    f"(NH_GUEST_TIMEOUT_S); it was stopped and its guest destroyed (log: {run.log_path})"
                )
            run.elapsed = time.monotonic() - run.started_at
    except Exception as exc:  # noqa: BLE001 - a background thread must report, never die silently
        run.error = f"the background run of {run.scenario} broke: {exc!r}"
    finally:
        run.prebuilt.set()
        run.done.set()


# The runs started in this pytest session, by scenario (conftest.py starts them, test_molecule.py
# waits for them).
RUNS: dict[str, Run] = {}


def start(scenario: str, env: dict[str, str]) -> Run:
    """Start ``scenario``'s background run (a daemon thread) and return its handle."""
    run = Run(scenario=scenario, log_path=LOG_DIR / f"{scenario}.log", timeout_s=timeout_s(env))
    threading.Thread(target=_work, args=(run, env), name=f"guest-{scenario}", daemon=True).start()
    return run
