# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of benchmarks/bench_base_image.py: the build order, the bootstrap step picked from
profile_tasks' output, and the ratios."""

from __future__ import annotations

import pytest

import bench_base_image as bench  # benchmarks/ is on the path (conftest.py)
import bench_demo

# Lines as ansible.posix.profile_tasks prints them after one build with mmdebstrap.
PROFILE = """
nested.hosts.base_image : Bootstrap the root filesystem with mmdebstrap ------------------ 25.41s
nested.hosts.base_image : Import the root filesystem as the output image ------------------ 2.90s
nested.hosts.base_image : Pack the root filesystem ---------------------------------------- 1.38s
nested.hosts.base_image : Install the bootstrap tool mmdebstrap --------------------------- 0.61s
"""


def test_rounds_alternate_which_tool_goes_first() -> None:
    assert bench.order(3) == [(0, "debootstrap"), (0, "mmdebstrap"), (1, "mmdebstrap"), (1, "debootstrap"),
                              (2, "debootstrap"), (2, "mmdebstrap")]


def test_the_bootstrap_step_is_found_by_its_tool() -> None:
    rows = bench_demo.parse_profile(PROFILE)
    assert bench.bootstrap_seconds(rows, "mmdebstrap") == 25.41


def test_a_profile_without_the_step_says_so() -> None:
    rows = bench_demo.parse_profile(PROFILE)
    with pytest.raises(ValueError, match="found 0"):
        bench.bootstrap_seconds(rows, "debootstrap")


def test_ratios_are_medians_of_mmdebstrap_over_debootstrap() -> None:
    results = {"debootstrap": {"role": [70.0, 60.0, 66.0], "bootstrap": [62.0]},
               "mmdebstrap": {"role": [30.0, 33.0, 99.0], "bootstrap": [31.0]}}
    assert bench.ratios(results) == {"role": pytest.approx(33.0 / 66.0), "bootstrap": pytest.approx(0.5)}
