# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures of the integration tests."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import background
import pytest
import snapshot

# Seconds a foreground integration test waits for the guest prebuild (a fresh machine: ~3 min).
PREBUILD_WAIT_S = 1800


def _guest_scenario(item: pytest.Item) -> str | None:
    """The guest scenario an item runs, or None (the molecule test module names its guest ones)."""
    guests = getattr(getattr(item, "module", None), "GUEST_SCENARIOS", frozenset())
    callspec = getattr(item, "callspec", None)
    scenario = callspec.params.get("scenario") if callspec is not None else None
    return scenario if scenario in guests else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the guest scenarios' tests to the end (after -k and -m deselection): they wait there
    for their background runs."""
    del config
    guests = [bool(_guest_scenario(item)) for item in items]
    if any(guests) and background.enabled(os.environ):
        items[:] = [items[i] for i in background.reorder([item.nodeid for item in items], guests)]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the selected guest scenarios in the background (not for --collect-only)."""
    if session.config.option.collectonly or not background.enabled(os.environ):
        return
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", ANSIBLE_NOCOLOR="1")
    for scenario in dict.fromkeys(filter(None, map(_guest_scenario, session.items))):
        background.RUNS[scenario] = background.start(scenario, env)


@pytest.fixture(scope="session", autouse=True)
def _after_guest_prebuild() -> None:
    """Hold the integration tests until the guest prebuild is over: it changes this machine's
    Docker objects, which the other tests snapshot strictly; afterwards the guest only reads them.
    Session-scoped and autouse, so that it comes before the other session fixtures (which build
    images too)."""
    for run in background.RUNS.values():
        assert run.prebuilt.wait(PREBUILD_WAIT_S), f"the prebuild of {run.scenario} took over {PREBUILD_WAIT_S} s"


@pytest.fixture(scope="session")
def converged_images() -> Any:
    """Build the base and node images for real with the collection's roles (a fresh CI machine has
    neither), so tests that start from a converged host run instead of skipping. Both roles are
    idempotent by recipe hash: where the images exist this is a quick no-op, and later tests
    (demo, Molecule) reuse the same images."""
    work = Path(tempfile.mkdtemp(prefix="nhtest-images-"))
    try:
        for role, variables in (("base_image", {"base_image_source": "debootstrap"}), ("node_image", {})):
            play = snapshot.write_play(work / f"converge-{role}.yml", [snapshot.include_role(role, variables)])
            rc, _out, err = snapshot.run_playbook(play, timeout=1200)
            assert rc == 0, f"converging {role} for the integration tests failed: {err[-2000:]}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    yield
