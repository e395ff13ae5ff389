# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures of the integration tests."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot


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
