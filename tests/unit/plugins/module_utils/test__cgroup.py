# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_cgroup.py: every captured tree, then edge cases.

Edge-case inputs are short texts written in the proc(5)/cgroups(7) formats, one behaviour each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _cgroup
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

CASES = sorted(
    p.parent.name
    for p in FIXTURES.glob("*/expected.yml")
    if (p.parent / "proc").is_dir() or (p.parent / "sys").is_dir()
)


def test_enough_cases() -> None:
    assert len(CASES) >= 12, CASES


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    base = FIXTURES / case
    expected = yaml.safe_load((base / "expected.yml").read_text())["cgroup"]
    result, _warnings = _cgroup.gather(str(base / "proc"), str(base / "sys"), "self")
    for key, value in expected.items():
        assert result[key] == value, f"{case}: {key}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("0::/\n", [(0, [], "/")], id="v2-root"),
        pytest.param(
            "2:cpu,cpuacct:/docker/abc\n",
            [(2, ["cpu", "cpuacct"], "/docker/abc")],
            id="joint-controllers",
        ),
        pytest.param(
            "9:name=systemd:/user.slice\n",
            [(9, ["name=systemd"], "/user.slice")],
            id="named-hierarchy",
        ),
        pytest.param(
            "4:memory:/kubepods.slice/pod1.slice:cri-containerd:0123\n",
            [(4, ["memory"], "/kubepods.slice/pod1.slice:cri-containerd:0123")],
            id="colons-inside-path",
        ),
        pytest.param(
            "0::/../../docker/abc\n",
            [(0, [], "/../../docker/abc")],
            id="path-above-namespace-root",
        ),
        pytest.param("garbage\n\nx:y:z\n", [], id="malformed-lines-skipped"),
    ],
)
def test_parse_proc_cgroup(
    text: str, expected: list[tuple[int, list[str], str]]
) -> None:
    assert [tuple(line) for line in _cgroup.parse_proc_cgroup(text)] == expected


V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct {opt} - cgroup cgroup rw,cpu,cpuacct
33 31 0:30 / /sys/fs/cgroup/memory {opt} - cgroup cgroup rw,memory
34 31 0:31 / /sys/fs/cgroup/devices {opt} - cgroup cgroup rw,devices
35 31 0:32 / /sys/fs/cgroup/pids {opt} - cgroup cgroup rw,pids
36 31 0:33 / /sys/fs/cgroup/freezer {opt} - cgroup cgroup rw,freezer
"""
V1_CGROUP = "6:freezer:/\n5:pids:/\n4:devices:/\n3:memory:/\n2:cpu,cpuacct:/\n"


def test_joint_controllers_share_hierarchy_and_mount() -> None:
    result = _cgroup.analyze(
        V1_CGROUP, V1_MOUNTS.format(opt="rw"), "cgroup:[4026531835]", None
    )
    assert result["cgroup_version"] == "v1"
    assert (
        result["controllers"]["cpu"]["hierarchy_id"]
        == result["controllers"]["cpuacct"]["hierarchy_id"]
        == 2
    )
    assert result["controllers"]["cpu"]["mountpoint"] == "/sys/fs/cgroup/cpu,cpuacct"
    assert result["nesting_ready"] is True and result["writable"] is True
    assert result["v2_delegation"] is None


def test_read_only_mounts_block_nesting() -> None:
    result = _cgroup.analyze(V1_CGROUP, V1_MOUNTS.format(opt="ro,nosuid"), None, None)
    assert result["writable"] is False
    assert any("read-only" in reason for reason in result["reasons"])


def test_devices_sharing_a_hierarchy() -> None:
    cgroup = "3:devices,memory:/\n2:cpu,cpuacct:/\n1:pids,freezer:/\n"
    mounts = (
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 31 0:30 / /sys/fs/cgroup/devices,memory rw - cgroup cgroup rw,devices,memory\n"
        "34 31 0:31 / /sys/fs/cgroup/pids,freezer rw - cgroup cgroup rw,pids,freezer\n"
    )
    result = _cgroup.analyze(cgroup, mounts, None, None)
    assert result["devices_own_hierarchy"] is False
    assert any("devices controller shares" in reason for reason in result["reasons"])


def test_missing_controller_is_a_reason() -> None:
    cgroup = V1_CGROUP.replace("5:pids:/\n", "")
    mounts = V1_MOUNTS.format(opt="rw").replace(
        "35 31 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n", ""
    )
    result = _cgroup.analyze(cgroup, mounts, None, None)
    assert (
        "The v1 controller pids is not available to this process." in result["reasons"]
    )


V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


@pytest.mark.parametrize(
    ("files", "ns", "ready", "reason_part"),
    [
        pytest.param(
            {
                "cgroup.controllers": "cpuset cpu io memory pids\n",
                "cgroup.subtree_control": "\n",
                "cgroup.procs": "1\n7\n",
            },
            "cgroup:[4026532999]",
            False,
            "still holds processes",
            id="private-root-not-evacuated",
        ),
        pytest.param(
            {
                "cgroup.controllers": "cpuset cpu io memory pids\n",
                "cgroup.subtree_control": "cpu memory pids\n",
                "cgroup.procs": "\n",
            },
            "cgroup:[4026532999]",
            True,
            None,
            id="private-root-evacuated-and-delegated",
        ),
        pytest.param(
            {
                "cgroup.controllers": "cpu io\n",
                "cgroup.subtree_control": "cpu\n",
                "cgroup.procs": "\n",
            },
            "cgroup:[4026532999]",
            False,
            "memory is not delegated",
            id="memory-not-delegated",
        ),
        pytest.param(
            {
                "cgroup.controllers": "cpu memory pids\n",
                "cgroup.subtree_control": "\n",
                "cgroup.procs": "1\n",
            },
            "cgroup:[4026531835]",
            True,
            None,
            id="host-namespace-root-is-exempt",
        ),
    ],
)
def test_v2_delegation(
    files: dict[str, str], ns: str, ready: bool, reason_part: str | None
) -> None:
    result = _cgroup.analyze("0::/\n", V2_MOUNT, ns, files)
    assert result["cgroup_version"] == "v2"
    assert result["devices_own_hierarchy"] is None
    assert result["v2_delegation"]["available"] == files["cgroup.controllers"].split()
    assert result["nesting_ready"] is ready
    if reason_part:
        assert any(reason_part in reason for reason in result["reasons"]), result[
            "reasons"
        ]
    assert result["controllers"]["cpu"]["version"] == "v2"


@pytest.mark.parametrize(
    ("ns_link", "cgroup", "mounts", "expected"),
    [
        pytest.param("cgroup:[4026531835]", "0::/\n", "", "host", id="init-inode"),
        pytest.param("cgroup:[4026532557]", "0::/\n", "", "private", id="other-inode"),
        pytest.param(None, "0::/../sibling\n", "", "private", id="path-above-root"),
        pytest.param(
            None,
            "3:memory:/docker/abc\n",
            "33 31 0:30 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
            "host",
            id="full-path-equals-mount-root",
        ),
        pytest.param(None, "3:memory:/\n", "", "unknown", id="no-evidence"),
        pytest.param(
            None,
            "0::/docker/abc\n",
            "30 23 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n",
            "host",
            id="v2-full-path-equals-mount-root",
        ),
        pytest.param(
            None,
            "0::/\n",
            "30 23 0:26 /../.. /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
            "private",
            id="mount-root-above-namespace-root",
        ),
    ],
)
def test_detect_cgroupns(
    ns_link: str | None, cgroup: str, mounts: str, expected: str
) -> None:
    result = _cgroup.analyze(cgroup, mounts, ns_link, None)
    assert result["cgroupns"] == expected
    assert result["cgroupns_evidence"]


def test_missing_files_give_nulls_and_warnings(tmp_path: Path) -> None:
    (tmp_path / "proc" / "self").mkdir(parents=True)
    result, warnings = _cgroup.gather(
        str(tmp_path / "proc"), str(tmp_path / "sys"), "self"
    )
    assert result["cgroup_version"] is None
    assert result["writable"] is None
    assert result["nesting_ready"] is False
    assert any("cgroup does not exist" in w for w in warnings)
    assert any("mountinfo does not exist" in w for w in warnings)


def test_cgroup2_outside_sys_is_warned(tmp_path: Path) -> None:
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("0::/\n")
    (proc / "mountinfo").write_text("30 23 0:26 / /cgroup2 rw - cgroup2 cgroup2 rw\n")
    result, warnings = _cgroup.gather(
        str(tmp_path / "proc"), str(tmp_path / "sys"), "self"
    )
    assert result["v2_delegation"] is None
    assert any("outside /sys" in w for w in warnings)


@pytest.mark.parametrize(
    ("cgroup", "mounts", "version"),
    [
        pytest.param("3:memory:/docker/a\n0::/\n", "33 31 0:30 / /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n",
                     "v1", id="hybrid-host-container-without-cgroup2-mount-is-v1"),
        pytest.param("3:memory:/\n0::/\n", "33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
                     "34 31 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n", "hybrid", id="hybrid-with-both"),
        pytest.param("3:memory:/\n0::/\n", None, "hybrid", id="cgroup-file-only-keeps-its-view"),
        pytest.param("0::/\n", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "v2", id="v2"),
        pytest.param("3:memory:/\n0::/\n", "27 1 254:0 / / rw - ext4 /dev/vda rw\n", "hybrid",
                     id="no-cgroup-mount-falls-back-to-the-file"),
    ],
)
def test_version_as_the_process_sees_it(cgroup: str, mounts: str | None, version: str) -> None:
    assert _cgroup.analyze(cgroup, mounts, None, None)["cgroup_version"] == version


@pytest.mark.parametrize(
    ("files", "version"),
    [
        pytest.param(["cgroup.controllers"], "v2", id="cgroup2-at-sys-fs-cgroup"),
        pytest.param(["memory/tasks", "pids/tasks", "unified/cgroup.controllers"], "hybrid", id="hybrid"),
        pytest.param(["memory/tasks"], "v1", id="v1"),
        pytest.param(["unified/cgroup.controllers"], "hybrid", id="unified-only"),
        pytest.param([], None, id="empty"),
    ],
)
def test_version_from_sys_alone(tmp_path: Path, files: list[str], version: str | None) -> None:
    base = tmp_path / "sys" / "fs" / "cgroup"
    base.mkdir(parents=True)
    for name in files:
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text("")
    result, warnings = _cgroup.gather(str(tmp_path / "proc"), str(tmp_path / "sys"), "self")
    assert result["cgroup_version"] == version
    assert any("layout of /sys/fs/cgroup alone" in w for w in warnings) is (version is not None)


def test_mounts_file_stands_in_for_mountinfo(tmp_path: Path) -> None:
    proc = tmp_path / "proc" / "self"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text("3:memory:/\n")
    (proc / "mounts").write_text("cgroup /sys/fs/cgroup/memory cgroup ro,nosuid,memory 0 0\n")
    result, warnings = _cgroup.gather(str(tmp_path / "proc"), str(tmp_path / "sys"), "self")
    assert result["controllers"]["memory"]["mountpoint"] == "/sys/fs/cgroup/memory"
    assert result["writable"] is False
    assert any("read from" in w and "mounts" in w for w in warnings)


def test_v2_delegation_from_sys_alone(tmp_path: Path) -> None:
    base = tmp_path / "sys" / "fs" / "cgroup"
    base.mkdir(parents=True)
    (base / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    result, _warnings = _cgroup.gather(str(tmp_path / "proc"), str(tmp_path / "sys"), "self")
    assert result["cgroup_version"] == "v2"
    assert result["v2_delegation"] == {
        "mountpoint": "/sys/fs/cgroup",
        "available": ["cpuset", "cpu", "io", "memory", "pids"],
        "subtree_control": [],
        "root_has_processes": None,
    }
    assert result["controllers"]["memory"] == {"version": "v2", "hierarchy_id": 0, "path": None,
                                               "mountpoint": "/sys/fs/cgroup"}
