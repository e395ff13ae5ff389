# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/bench_node.py's baseline option: the name a baseline commit's image gets, and a ref that
is no commit refused before anything is built."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bench_node as bench  # benchmarks/ is on the path (conftest.py)

REPO = Path(__file__).resolve().parents[3]


def test_baseline_image_carries_the_bench_prefix_and_the_short_commit() -> None:
    name = bench.baseline_image_name("1a29eed802c9f00dfeedbeef0123456789abcdef")
    assert name == "nhbench-node-before:1a29eed802c9"
    assert name.startswith(bench.PREFIX)


def test_a_ref_that_is_no_commit_is_refused_and_no_worktree_is_left() -> None:
    before = subprocess.run(["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True,
                            check=True).stdout
    with pytest.raises(SystemExit, match="--baseline-ref no-such-ref-here: not a commit of this repository"):
        bench.build_baseline("no-such-ref-here")
    after = subprocess.run(["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True,
                           check=True).stdout
    assert after == before
