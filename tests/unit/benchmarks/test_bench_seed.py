# SPDX-License-Identifier: GPL-3.0-or-later
"""benchmarks/bench_seed.py: the docker exec chain per depth and the playbook it writes."""
from __future__ import annotations


import pytest
import yaml

import bench_seed  # benchmarks/ is on the path (conftest.py)


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, []),
        (1, ["docker", "exec", "-i", "nhbench-reg-1"]),
        (3, ["docker", "exec", "-i", "nhbench-reg-1", "docker", "exec", "-i", "nhbench-reg-2",
             "docker", "exec", "-i", "nhbench-reg-3"]),
    ],
    ids=["host", "depth1", "depth3"],
)
def test_chain(depth: int, expected: list[str]) -> None:
    assert bench_seed.chain(depth) == expected


def test_playbook_is_yaml_with_one_play_per_level() -> None:
    text = bench_seed.PLAYBOOK.format(dind="d:1", flat="f:1", l1="a", l2="b", l3="c")
    plays = yaml.safe_load(text)
    assert [play["hosts"] for play in plays] == ["localhost", "a", "b"]
    assert yaml.safe_load(bench_seed.ABSENT.format(dind="d:1", flat="f:1"))[0]["tasks"][0]["vars"]["registry_state"] == "absent"
