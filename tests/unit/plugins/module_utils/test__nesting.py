# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_nesting.py: every captured tree, then the decision tables.

Edge-case inputs are short texts in the proc(5) formats, one behaviour each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _nesting
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES, TREE_CASES

CASES = TREE_CASES


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    base = FIXTURES / case
    expected = yaml.safe_load((base / "expected.yml").read_text())
    result, warnings = _nesting.gather(
        str(base / "proc"), str(base / "sys"), "self", str(base)
    )
    want = dict(expected["nesting"])
    assert result["capabilities"]["missing_from_bounding"] == want.pop(
        "missing_from_bounding"
    )
    assert [risk["id"] for risk in result["risks"]] == want.pop("risk_ids")
    assert [finding["id"] for finding in result["findings"]] == want.pop("finding_ids"), case
    for key, value in want.items():
        assert result[key] == value, f"{case}: {key}"
    assert [w.replace(str(base), "<case>") for w in warnings] == expected["warnings"]
    assert result["cgroup"]["cgroup_version"] == expected["cgroup"]["cgroup_version"]
    assert result["apparmor"] == expected["apparmor"]
    assert result["evidence"], "evidence is never empty"


def test_host_acceptance_facts() -> None:
    """The issue's acceptance statement, on the capture of the dev VM."""
    base = FIXTURES / "host-debian12-hybrid-vm"
    result, _warnings = _nesting.gather(
        str(base / "proc"), str(base / "sys"), "self", str(base)
    )
    assert result["cgroup"]["cgroup_version"] == "hybrid"
    assert result["apparmor"]["available"] is False
    assert result["in_container"] is False
    assert result["capabilities"]["missing_from_bounding"] == ["CAP_SYS_RESOURCE"]
    assert result["profile"] == "privileged-equivalent"
    assert "--cap-drop=SYS_RESOURCE" in result["recommended_run_flags"]
    assert "--privileged" not in result["recommended_run_flags"]


IDENTITY = "         0          0 4294967295\n"
FULL_STATUS = "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nSeccomp:\t0\nNoNewPrivs:\t0\n"


def _inputs(**overrides: object) -> _nesting.Inputs:
    values: dict[str, object] = {
        "status": FULL_STATUS,
        "cap_last_cap": "40\n",
        "osrelease": "6.1.0-26-amd64\n",
        "init_environ": "",
        "uid_map": IDENTITY,
        "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n",
        "cgroup": "0::/\n",
        "dockerenv": False,
        "containerenv": False,
        "selinux_enforce": None,
        "attr_current": None,
        "cgroup_result": {"cgroup_version": "v2", "reasons": []},
        "apparmor_result": {"available": False, "current": None},
    }
    values.update(overrides)
    return _nesting.Inputs(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "runtime"),
    [
        pytest.param({}, "none", id="bare-host"),
        pytest.param({"dockerenv": True}, "none", id="dockerenv-alone-is-not-counted"),
        pytest.param(
            {"cgroup": "0::/system.slice/docker-0123456789abcdef0123.scope\n"},
            "docker",
            id="docker-scope",
        ),
        pytest.param(
            {"cgroup": "0::/kubepods/besteffort/pod1/0123456789ab\n"},
            "kubernetes",
            id="kubepods",
        ),
        pytest.param(
            {
                "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n90 27 0:50 /proc/sys /proc/sys rw - fuse sysboxfs rw,user_id=0\n"
            },
            "sysbox",
            id="sysboxfs-mount",
        ),
        pytest.param(
            {
                "apparmor_result": {
                    "available": True,
                    "current": {"profile": "docker-default", "mode": "enforce"},
                }
            },
            "docker",
            id="docker-default-apparmor-label",
        ),
        pytest.param({"containerenv": True}, "podman", id="containerenv"),
        pytest.param({"init_environ": "container=lxc\0"}, "lxc", id="lxc-env"),
        pytest.param(
            {"cgroup": "0::/lxc.payload.c1/init.scope\n"}, "lxc", id="lxc-payload-path"
        ),
        pytest.param(
            {"init_environ": "container=systemd-nspawn\0"},
            "systemd-nspawn",
            id="nspawn-env",
        ),
        pytest.param(
            {"cgroup": "0::/machine.slice/machine-c1.scope/payload\n"},
            "systemd-nspawn",
            id="machine-slice",
        ),
        pytest.param(
            {"osrelease": "5.15.153.1-microsoft-standard-WSL2\n"},
            "wsl",
            id="wsl-kernel",
        ),
        pytest.param({"uid_map": "0 100000 65536\n"}, "unknown", id="userns-only"),
        pytest.param(
            {"init_environ": "container=oci\0"}, "unknown", id="unknown-container-env"
        ),
        pytest.param(
            {"cgroup": "0::/kubepods.slice/kubepods-pod1.slice/crio-0123456789abcdef.scope\n"},
            "kubernetes",
            id="crio-under-kubepods",
        ),
        pytest.param(
            {"cgroup": "0::/system.slice/crio-0123456789abcdef0123.scope\n"}, "kubernetes", id="crio-alone"
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - overlay overlay rw\n"
             "9 1 0:5 / /var/run/secrets/kubernetes.io/serviceaccount ro - tmpfs tmpfs ro\n"},
            "kubernetes",
            id="service-account-token",
        ),
        pytest.param(
            {"cgroup": "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-0123456789ab.scope\n"},
            "podman",
            id="rootless-podman-path",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/containers/storage/overlay/l/A\n"},
            "podman",
            id="containers-storage-root",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - zfs pool/lxd/containers/c1 rw\n"
             "5 1 0:9 / /dev/incus rw - tmpfs tmpfs rw\n"
             "6 1 0:10 / /proc/cpuinfo rw - fuse.lxcfs lxcfs rw\n"},
            "incus",
            id="incus-dev-and-lxcfs",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - fuse.lxcfs lxcfs rw\n6 1 0:10 / /proc/meminfo rw - fuse.lxcfs lxcfs rw\n"},
            "lxc",
            id="lxcfs-alone",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 /var/lib/lxc/c1/rootfs / rw - ext4 /dev/vda rw\n"}, "lxc", id="lxc-rootfs-dir"
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - virtiofs kataShared rw\n"}, "kata", id="kata-shared-root"
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - virtiofs none rw\n"}, "kata", id="kata-virtiofs-none-root"
        ),
        pytest.param({"osrelease": "4.4.0\n", "mountinfo": None}, "gvisor", id="gvisor-old-release"),
        pytest.param({"osrelease": "4.4.0\n"}, "none", id="plain-4.4.0-kernel-with-a-real-root-is-not-gvisor"),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - btrfs /dev/sda1 rw,subvol=/@/var/lib/docker/btrfs/subvolumes/abc\n"},
            "docker",
            id="docker-btrfs",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 /var/lib/docker/vfs/dir/abc / rw - ext4 /dev/vda rw\n"}, "docker", id="docker-vfs"
        ),
        pytest.param(
            {"mountinfo": "1 0 253:3 / / rw - xfs /dev/mapper/docker-253:0-1234-0123456789abcdef0123 rw\n"},
            "docker",
            id="docker-devicemapper",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - zfs rpool/docker/" + "a" * 64 + " rw\n"}, "docker", id="docker-zfs"
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/containerd/daemon/"
             "io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs\n"},
            "docker",
            id="docker-containerd-image-store",
        ),
        pytest.param(
            {"mountinfo": "1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/containerd/"
             "io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs\n"},
            "containerd",
            id="containerd-snapshot",
        ),
        pytest.param(
            {"cgroup": "0::/docker/0123456789abcdef0123\n", "osrelease": "6.10.14-linuxkit\n"},
            "docker-desktop",
            id="docker-desktop-linuxkit",
        ),
        pytest.param(
            {"cgroup": "0::/docker/0123456789abcdef0123\n", "osrelease": "5.15.153.1-microsoft-standard-WSL2\n"},
            "docker-desktop",
            id="docker-desktop-wsl2",
        ),
    ],
)
def test_detect_container(overrides: dict, runtime: str) -> None:
    result = _nesting.analyze(_inputs(**overrides))
    assert result["container_runtime"] == runtime
    assert result["in_container"] is (runtime != "none")
    assert result["evidence"]


@pytest.mark.parametrize(
    ("status", "privileged", "equivalent"),
    [
        pytest.param(FULL_STATUS, True, True, id="everything"),
        pytest.param(
            FULL_STATUS.replace("000001ffffffffff", "000001fffeffffff"),
            False,
            True,
            id="bounding-lacks-sys-resource",
        ),
        pytest.param(
            FULL_STATUS.replace("Seccomp:\t0", "Seccomp:\t2"),
            False,
            False,
            id="seccomp-filter",
        ),
        pytest.param(
            FULL_STATUS.replace(
                "CapEff:\t000001ffffffffff", "CapEff:\t00000000a80425fb"
            ),
            False,
            False,
            id="effective-short",
        ),
        pytest.param(
            "CapEff:\t00000000a82425fb\nCapBnd:\t00000000a82425fb\nSeccomp:\t0\n",
            False,
            False,
            id="only-sys-admin-added",
        ),
    ],
)
def test_privileged_flags(status: str, privileged: bool, equivalent: bool) -> None:
    result = _nesting.analyze(_inputs(status=status))
    assert result["privileged"] is privileged
    assert result["privileged_equivalent"] is equivalent


def test_user_namespace_is_never_privileged() -> None:
    result = _nesting.analyze(_inputs(uid_map="0 0 1\n"))
    assert result["privileged"] is False and result["profile"] == "none"
    assert any("user namespace" in reason for reason in result["reasons"])


@pytest.mark.parametrize(
    ("status", "version", "profile", "flags_include", "flags_exclude"),
    [
        pytest.param(
            FULL_STATUS,
            "v2",
            "privileged",
            ["--privileged", "--cgroupns=private"],
            ["--cap-add=ALL"],
            id="complete-v2",
        ),
        pytest.param(
            FULL_STATUS,
            "hybrid",
            "privileged",
            [
                "--privileged",
                "--cgroupns=host",
                "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
            ],
            [],
            id="complete-hybrid",
        ),
        pytest.param(
            FULL_STATUS.replace(
                "CapBnd:\t000001ffffffffff", "CapBnd:\t000001fffeffffff"
            ),
            "v1",
            "privileged-equivalent",
            [
                "--cap-add=ALL",
                "--cap-drop=SYS_RESOURCE",
                "--security-opt=systempaths=unconfined",
                "--device-cgroup-rule=a *:* rwm",
            ],
            ["--privileged"],
            id="short-bounding-v1",
        ),
        pytest.param(
            FULL_STATUS.replace(
                "CapBnd:\t000001ffffffffff", "CapBnd:\t000001ffffdfffff"
            ),
            "v2",
            "none",
            [],
            ["--cap-add=ALL", "--privileged"],
            id="no-sys-admin-in-bounding",
        ),
    ],
)
def test_recommendation(
    status: str,
    version: str,
    profile: str,
    flags_include: list[str],
    flags_exclude: list[str],
) -> None:
    result = _nesting.analyze(
        _inputs(status=status, cgroup_result={"cgroup_version": version, "reasons": []})
    )
    assert result["profile"] == profile
    assert set(flags_include) <= set(result["recommended_run_flags"])
    assert not set(flags_exclude) & set(result["recommended_run_flags"])
    options = result["recommended_container_options"]
    if profile == "none":
        assert options == {}
    else:
        assert options["privileged"] is (profile == "privileged")
        assert options["cgroupns_mode"] == ("private" if version == "v2" else "host")
        assert options["volumes"] == (
            [] if version == "v2" else ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]
        )


def test_caps_unknown_to_the_engine_are_not_dropped() -> None:
    status = FULL_STATUS.replace(
        "CapBnd:\t000001ffffffffff", "CapBnd:\t0000003ffeffffff"
    )
    result = _nesting.analyze(_inputs(status=status))
    assert result["recommended_container_options"]["cap_drop"] == ["SYS_RESOURCE"]
    newer = _nesting.normalize_capabilities(
        [
            *(n[4:] for n in _nesting.ENGINE_CAPABILITIES_DEFAULT),
            "PERFMON",
            "BPF",
            "CAP_CHECKPOINT_RESTORE",
        ]
    )
    assert newer[1] is None
    result = _nesting.analyze(_inputs(status=status), newer[0])
    assert result["recommended_container_options"]["cap_drop"] == [
        "SYS_RESOURCE",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ]


def test_normalize_capabilities_rejects_unknown_names() -> None:
    names, error = _nesting.normalize_capabilities(["SYS_ADMIN", "FLY"])
    assert (
        names == ()
        and error is not None
        and "engine_capabilities" in error
        and "'FLY'" in error
    )


@pytest.mark.parametrize(
    ("overrides", "risk_ids"),
    [
        pytest.param({}, [], id="host-no-risks"),
        pytest.param(
            {
                "cgroup": "4:memory:/docker/0123456789abcdef\n0::/\n",
                "cgroup_result": {"cgroup_version": "hybrid", "reasons": []},
            },
            ["privileged", "no-lsm", "cgroup-v1-release-agent"],
            id="privileged-v1-container",
        ),
        pytest.param(
            {
                "cgroup": "0::/docker/0123456789abcdef\n",
                "apparmor_result": {
                    "available": True,
                    "current": {"profile": "docker-default", "mode": "enforce"},
                },
            },
            ["privileged"],
            id="privileged-v2-confined",
        ),
        pytest.param(
            {
                "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n80 27 254:0 /run/docker.sock /run/docker.sock rw - ext4 /dev/vda rw\n"
            },
            ["docker-socket-mounted"],
            id="socket-on-host",
        ),
        pytest.param(
            {
                "cgroup": "0::/docker/0123456789abcdef\n",
                "selinux_enforce": "1\n",
                "attr_current": "system_u:system_r:container_t:s0:c1,c2\n",
                "status": FULL_STATUS.replace("Seccomp:\t0", "Seccomp:\t2"),
            },
            [],
            id="selinux-confined-filtered",
        ),
    ],
)
def test_risks(overrides: dict, risk_ids: list[str]) -> None:
    result = _nesting.analyze(_inputs(**overrides))
    assert [risk["id"] for risk in result["risks"]] == risk_ids
    for risk in result["risks"]:
        assert risk["severity"] in ("high", "medium", "low") and risk["message"]


def test_missing_files_are_nulls_and_warnings(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    result, warnings = _nesting.gather(
        str(tmp_path / "proc"), str(tmp_path / "sys"), "self", str(tmp_path)
    )
    assert result["capabilities"] == {
        "effective": None,
        "bounding": None,
        "missing_from_bounding": None,
    }
    assert (
        result["privileged"] is None
        and result["seccomp"] is None
        and result["userns"]["uid_map"] is None
    )
    assert result["docker_socket_mounted"] is None
    assert result["profile"] == "none" and result["can_nest_docker"] is False
    assert any("status does not exist" in w for w in warnings)


def test_privileged_without_cap_last_cap_uses_the_known_capabilities() -> None:
    result = _nesting.analyze(_inputs(cap_last_cap=None, cgroup="0::/docker/0123456789abcdef\n"))
    assert result["privileged"] is True and result["privileged_equivalent"] is True
    assert result["capabilities"]["missing_from_bounding"] is None
    assert any("cap_last_cap could not be read" in sentence for sentence in result["evidence"])
    short = FULL_STATUS.replace("CapBnd:\t000001ffffffffff", "CapBnd:\t000001fffeffffff")
    result = _nesting.analyze(_inputs(cap_last_cap=None, status=short))
    assert result["privileged"] is False and result["privileged_equivalent"] is True


@pytest.mark.parametrize(
    ("cgroup", "mountinfo", "cgroupns"),
    [
        pytest.param("0::/\n", "27 1 254:0 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n"
                     "30 27 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "private", id="v2-root-path-in-docker"),
        pytest.param("4:memory:/\n0::/\n", "27 1 254:0 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n"
                     "30 27 0:26 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n", "unknown",
                     id="mount-root-not-slash"),
        pytest.param("0::/docker/0123456789abcdef\n", "27 1 254:0 / / rw - ext4 /dev/vda rw\n", "unknown",
                     id="own-path-visible"),
    ],
)
def test_cgroupns_inferred_inside_a_container(cgroup: str, mountinfo: str, cgroupns: str) -> None:
    result = _nesting.analyze(_inputs(cgroup=cgroup, mountinfo=mountinfo,
                                      cgroup_result={"cgroup_version": "v2", "cgroupns": "unknown", "reasons": []}))
    assert result["in_container"] is True
    assert result["cgroup"]["cgroupns"] == cgroupns
    if cgroupns == "private":
        assert "private cgroup namespace" in result["cgroup"]["cgroupns_evidence"]


def test_findings_are_part_of_the_result() -> None:
    result = _nesting.analyze(_inputs())
    assert result["findings"] == [] and isinstance(result["checks_not_run"], list)
    inputs = _nesting.NO_FINDINGS_INPUTS._replace(inotify_instances="128\n")
    result = _nesting.analyze(_inputs(findings_inputs=inputs))
    assert [finding["id"] for finding in result["findings"]] == ["inotify-limits-low"]


REASON_IDS = {
    "cgroup-file-unreadable",
    "mountinfo-unreadable",
    "cgroup-not-mounted",
    "cgroup-read-only",
    "devices-controller-shared",
    "cgroup-v1-controller-unavailable",
    "cgroup-v1-controller-unmounted",
    "cgroup-v2-controller-not-delegated",
    "cgroup-v2-root-has-processes",
    "capabilities-unreadable",
    "no-cap-sys-admin",
    "seccomp-filter",
    "apparmor-confined",
    "userns-active",
}
SYSBOX_MOUNTINFO = (
    "27 1 254:0 / / rw - ext4 /dev/vda rw\n90 27 0:50 /proc/sys /proc/sys rw - fuse sysboxfs rw,user_id=0\n"
)
NO_ADMIN_STATUS = FULL_STATUS.replace("CapEff:\t000001ffffffffff", "CapEff:\t0000000000000000")


@pytest.mark.parametrize("case", CASES)
def test_fixture_reasons_carry_known_ids(case: str) -> None:
    base = FIXTURES / case
    result, _warnings = _nesting.gather(str(base / "proc"), str(base / "sys"), "self", str(base))
    assert len(result["reason_ids"]) == len(result["reasons"])
    assert set(result["reason_ids"]) <= REASON_IDS, result["reason_ids"]
    assert len(result["cgroup"]["reason_ids"]) == len(result["cgroup"]["reasons"])


@pytest.mark.parametrize(
    ("overrides", "reason_ids"),
    [
        pytest.param({}, [], id="nests"),
        pytest.param({"status": None}, ["capabilities-unreadable"], id="caps-unreadable"),
        pytest.param({"status": NO_ADMIN_STATUS}, ["no-cap-sys-admin"], id="no-sys-admin"),
        pytest.param(
            {"status": FULL_STATUS.replace("Seccomp:\t0", "Seccomp:\t2")}, ["seccomp-filter"], id="seccomp-filter"
        ),
        pytest.param(
            {"apparmor_result": {"available": True, "current": {"profile": "docker-default", "mode": "enforce"}}},
            ["apparmor-confined"],
            id="apparmor",
        ),
        pytest.param(
            {"cgroup_result": {"cgroup_version": "v2", "reasons": ["ro"], "reason_ids": ["cgroup-read-only"]}},
            ["cgroup-read-only"],
            id="cgroup-id-kept",
        ),
        pytest.param(
            {"cgroup_result": {"cgroup_version": "v2", "reasons": ["a reason from an older cgroup_info"]}},
            ["cgroup"],
            id="cgroup-reason-without-id",
        ),
        pytest.param(
            {"status": NO_ADMIN_STATUS, "mountinfo": SYSBOX_MOUNTINFO},
            [],
            id="sysbox-drops-no-cap-sys-admin-by-id",
        ),
    ],
)
def test_reason_ids(overrides: dict, reason_ids: list[str]) -> None:
    result = _nesting.analyze(_inputs(**overrides))
    assert result["reason_ids"] == reason_ids
    assert len(result["reasons"]) == len(reason_ids)
    assert result["can_nest_docker"] is (not reason_ids)


# The stages of analyze(): detect -> privilege -> assess_risks / recommendation, one table each.
DOCKER_CGROUP = "0::/system.slice/docker-0123456789abcdef0123.scope\n"
USERNS = "         0     100000      65536\n"


@pytest.mark.parametrize(
    ("overrides", "want"),
    [
        pytest.param({}, {"runtime": "none", "socket": False, "uid_map": [[0, 0, 4294967295]]}, id="bare-host"),
        pytest.param({"mountinfo": None, "uid_map": None}, {"runtime": "none", "socket": None, "uid_map": None}, id="unread"),
        pytest.param(
            {
                "cgroup": DOCKER_CGROUP,
                "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
                "30 27 0:5 /run/docker.sock /run/docker.sock rw - tmpfs tmpfs rw\n",
            },
            {"runtime": "docker", "socket": True, "uid_map": [[0, 0, 4294967295]]},
            id="docker-with-socket",
        ),
        pytest.param({"uid_map": USERNS}, {"runtime": "unknown", "socket": False, "uid_map": [[0, 100000, 65536]]}, id="userns"),
    ],
)
def test_detect_stage(overrides: dict, want: dict) -> None:
    detection = _nesting.detect(_inputs(**overrides))
    assert detection.container["container_runtime"] == want["runtime"]
    assert detection.container["in_container"] is (want["runtime"] != "none")
    assert detection.docker_socket is want["socket"]
    assert detection.uid_map == want["uid_map"]


def test_detect_stage_infers_cgroupns_only_inside_a_container() -> None:
    unknown = {"cgroup_version": "v2", "cgroupns": "unknown", "reasons": []}
    host = _nesting.detect(_inputs(cgroup_result=unknown))
    assert host.cgroup is unknown
    container = _nesting.detect(_inputs(cgroup_result=unknown, init_environ="container=podman\0"))
    assert container.container["in_container"] is True
    assert container.cgroup["cgroupns"] == "private" and "cgroupns_evidence" in container.cgroup
    assert unknown["cgroupns"] == "unknown", "the input result is not changed"


@pytest.mark.parametrize(
    ("overrides", "uid_map", "want"),
    [
        pytest.param({}, [[0, 0, 4294967295]], (True, True, "disabled", False, []), id="everything"),
        pytest.param({}, [[0, 100000, 65536]], (False, False, "disabled", False, []), id="caps-in-userns"),
        pytest.param(
            {"status": FULL_STATUS.replace("Seccomp:\t0", "Seccomp:\t2")},
            None,
            (False, False, "filter", False, []),
            id="seccomp-filter",
        ),
        pytest.param({"status": None}, None, (None, None, None, False, []), id="status-unread"),
        pytest.param(
            {"cap_last_cap": None},
            None,
            (True, True, "disabled", False, ["cap_last_cap could not be read"]),
            id="cap-last-cap-unread",
        ),
        pytest.param(
            {"apparmor_result": {"available": True, "current": {"profile": "docker-default"}}},
            None,
            (True, True, "disabled", True, []),
            id="apparmor-confined",
        ),
        pytest.param(
            {"selinux_enforce": "1\n", "attr_current": "system_u:system_r:container_t:s0:c1,c2\n"},
            None,
            (True, True, "disabled", True, []),
            id="selinux-confined",
        ),
    ],
)
def test_privilege_stage(overrides: dict, uid_map: list | None, want: tuple) -> None:
    priv = _nesting.privilege(_inputs(**overrides), uid_map)
    privileged, equivalent, seccomp, confined, evidence = want
    assert (priv.privileged, priv.privileged_equivalent, priv.seccomp, priv.confined) == (
        privileged,
        equivalent,
        seccomp,
        confined,
    )
    assert priv.userns_active is (uid_map is not None and uid_map != [[0, 0, 4294967295]])
    assert len(priv.evidence) == len(evidence)
    assert all(e in got for e, got in zip(evidence, priv.evidence))
    if overrides.get("cap_last_cap", "") is None:
        assert priv.capabilities["missing_from_bounding"] is None and priv.missing == []


@pytest.mark.parametrize(
    ("overrides", "reason_ids", "risk_ids"),
    [
        pytest.param({}, [], [], id="bare-host"),
        pytest.param(
            {"cgroup": DOCKER_CGROUP, "cgroup_result": {"cgroup_version": "hybrid", "reasons": ["ro"]}},
            ["cgroup"],
            ["privileged", "no-lsm", "cgroup-v1-release-agent"],
            id="privileged-v1-container",
        ),
        pytest.param(
            {
                "cgroup": DOCKER_CGROUP,
                "status": "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nSeccomp:\t2\nNoNewPrivs:\t0\n",
                "apparmor_result": {"available": True, "current": {"profile": "docker-default"}},
            },
            ["no-cap-sys-admin", "seccomp-filter", "apparmor-confined"],
            [],
            id="docker-default",
        ),
        pytest.param(
            {"uid_map": USERNS, "status": "CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nSeccomp:\t0\n"},
            ["no-cap-sys-admin", "userns-active"],
            ["no-lsm"],
            id="userns",
        ),
        pytest.param(
            {
                "uid_map": USERNS,
                "status": "CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nSeccomp:\t0\n",
                "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 0:50 / /proc/uptime rw - fuse sysboxfs rw\n",
            },
            [],
            ["no-lsm"],
            id="sysbox-keeps-no-reason",
        ),
        pytest.param(
            {"mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n30 27 0:5 /d.sock /var/run/docker.sock rw - tmpfs t rw\n"},
            [],
            ["docker-socket-mounted"],
            id="socket-on-host",
        ),
    ],
)
def test_assess_risks_stage(overrides: dict, reason_ids: list, risk_ids: list) -> None:
    inputs = _inputs(**overrides)
    detection = _nesting.detect(inputs)
    risks = _nesting.assess_risks(detection, _nesting.privilege(inputs, detection.uid_map), inputs.apparmor_result)
    assert risks.reason_ids == reason_ids
    assert len(risks.reasons) == len(reason_ids)
    assert [risk["id"] for risk in risks.risks] == risk_ids


@pytest.mark.parametrize(
    ("overrides", "profile", "first_flag"),
    [
        pytest.param({}, "privileged", "--privileged", id="full-bounding-set"),
        pytest.param(
            {"status": "CapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nSeccomp:\t0\n"},
            "privileged-equivalent",
            "--cap-add=ALL",
            id="no-sys-resource",
        ),
        pytest.param({"uid_map": USERNS}, "none", None, id="userns"),
        pytest.param(
            {"uid_map": USERNS, "mountinfo": "27 1 254:0 / / rw - ext4 /dev/vda rw\n40 27 0:50 / /proc/uptime rw - fuse sysboxfs rw\n"},
            "privileged",
            "--privileged",
            id="userns-under-sysbox",
        ),
    ],
)
def test_recommendation_stage(overrides: dict, profile: str, first_flag: str | None) -> None:
    inputs = _inputs(**overrides)
    detection = _nesting.detect(inputs)
    advice = _nesting.recommendation(detection, _nesting.privilege(inputs, detection.uid_map))
    assert advice.profile == profile
    assert (advice.run_flags[0] if advice.run_flags else None) == first_flag
    assert bool(advice.container_options) is (profile != "none")
    assert advice.notes
