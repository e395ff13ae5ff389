# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_findings.py: one table per check, then gather_inputs on a tree.

The fixtures' finding ids are compared by test__nesting.py::test_fixture; here each check's edges.
Inputs are short texts in the formats of proc(5), sysfs and daemon.json, one behaviour each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _findings
from ansible_collections.nested.hosts.plugins.module_utils._kernel import parse_mountinfo
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
ROUTE_ETH0 = ROUTE_HEADER + "eth0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"


def _ids(findings: list[dict[str, str]]) -> list[str]:
    for item in findings:
        assert set(item) == {"id", "severity", "message", "fix"}
        assert item["severity"] in ("high", "medium", "low") and item["message"] and item["fix"]
    return [item["id"] for item in findings]


@pytest.mark.parametrize(
    ("libraries", "version"),
    [
        pytest.param(["/t/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"], 252, id="debian-bookworm"),
        pytest.param(["/t/usr/lib/systemd/libsystemd-shared-257.13-1.fc42.so"], 257, id="fedora-style-suffix"),
        pytest.param(["/t/lib/systemd/libsystemd-shared-249.so", "/t/usr/lib/systemd/libsystemd-shared-258.so"], 258,
                     id="highest-wins"),
        pytest.param(["/t/usr/lib/systemd/libsystemd-core-257.so"], None, id="not-the-shared-library"),
        pytest.param([], None, id="none"),
    ],
)
def test_systemd_version(libraries: list[str], version: int | None) -> None:
    assert _findings.systemd_version(libraries) == version


@pytest.mark.parametrize(
    ("version", "cgroup", "ids"),
    [
        pytest.param(252, "hybrid", [], id="252-on-hybrid-fine"),
        pytest.param(255, "v1", [], id="255-on-v1-fine"),
        pytest.param(256, "v1", ["systemd-cgroup-v1-deprecated"], id="256-on-v1"),
        pytest.param(257, "hybrid", ["systemd-cgroup-v1-deprecated"], id="257-on-hybrid"),
        pytest.param(258, "v1", ["systemd-cgroup-v1-unsupported"], id="258-on-v1"),
        pytest.param(260, "v2", [], id="260-on-v2-fine"),
        pytest.param(258, None, [], id="cgroup-version-unknown"),
        pytest.param(None, "v1", [], id="no-systemd"),
    ],
)
def test_check_systemd(version: int | None, cgroup: str | None, ids: list[str]) -> None:
    assert _ids(_findings.check_systemd(version, cgroup)) == ids


@pytest.mark.parametrize(
    ("instances", "watches", "fires"),
    [
        pytest.param("128\n", "8192\n", True, id="distribution-defaults"),
        pytest.param("8192\n", "524288\n", False, id="kind-advice-met"),
        pytest.param("1024\n", "65536\n", True, id="watches-low"),
        pytest.param(None, None, False, id="not-readable"),
        pytest.param("garbage", None, False, id="not-a-number"),
    ],
)
def test_check_inotify(instances: str | None, watches: str | None, fires: bool) -> None:
    assert _ids(_findings.check_inotify(instances, watches)) == (["inotify-limits-low"] if fires else [])


@pytest.mark.parametrize(
    ("route", "mtus", "daemon_json", "fires"),
    [
        pytest.param(ROUTE_ETH0, {"eth0": "1400\n", "docker0": "1500\n"}, None, True, id="uplink-1400"),
        pytest.param(ROUTE_ETH0, {"eth0": "1500\n"}, None, False, id="uplink-1500"),
        pytest.param(ROUTE_ETH0, {"eth0": "1400\n"}, '{"mtu": 1400}', False, id="daemon-json-sets-mtu"),
        pytest.param(ROUTE_ETH0, {"eth0": "1400\n"}, '{"mtu": 1500}', True, id="daemon-json-mtu-too-high"),
        pytest.param(ROUTE_ETH0, {"eth0": "1400\n"}, "{not json", True, id="daemon-json-unparsable"),
        pytest.param(None, {"eth0": "1450\n", "docker0": "1500\n", "lo": "65536\n"}, None, True,
                     id="no-route-single-uplink"),
        pytest.param(None, {"docker0": "1400\n", "veth1": "1400\n"}, None, False, id="no-route-only-bridges"),
        pytest.param(ROUTE_HEADER, {"eth0": "1400\n"}, None, True, id="route-without-default-falls-back"),
        pytest.param(None, {}, None, False, id="nothing-known"),
    ],
)
def test_check_mtu(route: str | None, mtus: dict, daemon_json: str | None, fires: bool) -> None:
    assert _ids(_findings.check_mtu(route, mtus, daemon_json)) == (["mtu-below-default"] if fires else [])


MODULES_LEGACY = "ip_tables 32768 1 iptable_nat, Live 0x0\niptable_nat 16384 1 - Live 0x0\niptable_raw 16384 0 - Live 0x0\n"
MODULES_NFT = "nf_tables 331776 0 - Live 0x0\n"


@pytest.mark.parametrize(
    ("names", "modules", "sys_modules", "alternative", "in_container", "ids"),
    [
        pytest.param("", MODULES_LEGACY, [], "/usr/sbin/iptables-legacy", True, [], id="legacy-complete"),
        pytest.param("", MODULES_NFT, [], "/usr/sbin/iptables-nft", True, [], id="nft-complete"),
        pytest.param("", "ip_tables 1 0 - Live 0x0\n", [], "/usr/sbin/iptables-legacy", True,
                     ["iptables-modules-missing"], id="legacy-lacks-nat-and-raw"),
        pytest.param("", "ip_tables 1 0 - Live 0x0\n", ["iptable_nat", "iptable_raw"], "/usr/sbin/iptables-legacy", True,
                     [], id="built-in-modules-in-sys-module"),
        pytest.param("", "", [], None, True, ["iptables-modules-missing"], id="backend-unknown-nothing-loaded"),
        pytest.param("", MODULES_NFT, [], None, False, [], id="backend-unknown-one-set-suffices"),
        pytest.param("nat\nfilter\n", MODULES_NFT, [], "/usr/sbin/iptables-nft", True, ["iptables-backends-mixed"],
                     id="legacy-tables-under-nft"),
        pytest.param("", None, None, "/usr/sbin/iptables-nft", True, [], id="proc-modules-missing"),
    ],
)
def test_check_iptables(
    names: str, modules: str | None, sys_modules: list | None, alternative: str | None, in_container: bool, ids: list
) -> None:
    assert _ids(_findings.check_iptables(names, modules, sys_modules, alternative, in_container)) == ids


def test_missing_modules_are_high_only_in_a_container() -> None:
    inside = _findings.check_iptables("", "", [], "/usr/sbin/iptables-legacy", True)
    host = _findings.check_iptables("", "", [], "/usr/sbin/iptables-legacy", False)
    assert inside[0]["severity"] == "high" and host[0]["severity"] == "low"
    assert "modprobe ip_tables iptable_nat iptable_raw" in host[0]["fix"]


OVERLAY_ROOT = "1 0 0:1 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A\n"
VOLUME = "2 1 254:0 /var/lib/docker/volumes/v/_data /var/lib/docker rw - ext4 /dev/vda rw\n"
CONTAINERD_VOLUME = "3 1 254:0 /x /var/lib/containerd rw - ext4 /dev/vda rw\n"


@pytest.mark.parametrize(
    ("mountinfo", "in_container", "snapshots", "ids"),
    [
        pytest.param(OVERLAY_ROOT, True, None, ["storage-overlay-on-overlay"], id="no-volume"),
        pytest.param(OVERLAY_ROOT + VOLUME, True, None, [], id="volume-at-var-lib-docker"),
        pytest.param(OVERLAY_ROOT + VOLUME, True, ["1"], ["storage-containerd-overlay-on-overlay"],
                     id="containerd-snapshots-on-overlay"),
        pytest.param(OVERLAY_ROOT + VOLUME + CONTAINERD_VOLUME, True, ["1"], [], id="both-volumes"),
        pytest.param(OVERLAY_ROOT + VOLUME, True, [], [], id="containerd-unused"),
        pytest.param(OVERLAY_ROOT, False, None, [], id="host-with-overlay-root-is-not-judged"),
        pytest.param("1 0 0:1 / / rw - btrfs /dev/sda1 rw\n", True, None, [], id="btrfs-root"),
        pytest.param("", True, None, [], id="no-mounts"),
    ],
)
def test_check_storage(mountinfo: str, in_container: bool, snapshots: list | None, ids: list) -> None:
    assert _ids(_findings.check_storage(parse_mountinfo(mountinfo), in_container, snapshots)) == ids


@pytest.mark.parametrize(
    ("runtime", "apparmor", "severity"),
    [
        pytest.param("lxc", {"available": True, "current": {"profile": "lxc-container-default-cgns", "mode": "enforce"}},
                     "high", id="lxc-confined"),
        pytest.param("incus", {"available": False, "current": None}, "medium", id="incus-label-hidden"),
        pytest.param("lxd", {"available": True, "current": {"profile": "unconfined", "mode": None}}, None,
                     id="lxd-unconfined"),
        pytest.param("docker", {"available": True, "current": {"profile": "docker-default", "mode": "enforce"}}, None,
                     id="not-lxc"),
    ],
)
def test_check_lxc_apparmor(runtime: str, apparmor: dict, severity: str | None) -> None:
    result = _findings.check_lxc_apparmor(runtime, apparmor)
    assert [item["severity"] for item in result] == ([severity] if severity else [])
    for item in result:
        assert "ip_unprivileged_port_start" in item["message"] and "unconfined" in item["fix"]


def test_analyze_reports_checks_that_could_not_run() -> None:
    findings, not_run = _findings.analyze(
        _findings.Inputs([], None, None, None, {}, None, None, None, None, None, None), [], None, "none", False, {}
    )
    assert findings == []
    assert [item["id"] for item in not_run] == ["systemd-cgroup-v1", "inotify-limits", "mtu", "iptables-modules"]


def test_gather_inputs_reads_below_the_roots(tmp_path: Path) -> None:
    proc, sys_, fs = tmp_path / "proc", tmp_path / "sys", tmp_path / "root"
    (proc / "self" / "net").mkdir(parents=True)
    (proc / "self" / "net" / "route").write_text(ROUTE_ETH0)
    (proc / "sys" / "fs" / "inotify").mkdir(parents=True)
    (proc / "sys" / "fs" / "inotify" / "max_user_instances").write_text("128\n")
    for name, mtu in (("eth0", "1400\n"), ("lo", "65536\n")):
        (sys_ / "class" / "net" / name).mkdir(parents=True)
        (sys_ / "class" / "net" / name / "mtu").write_text(mtu)
    lib = fs / "usr" / "lib" / "x86_64-linux-gnu" / "systemd"
    lib.mkdir(parents=True)
    (lib / "libsystemd-shared-257.so").write_text("")
    (fs / "etc" / "alternatives").mkdir(parents=True)
    (fs / "etc" / "alternatives" / "iptables").symlink_to("/usr/sbin/iptables-nft")
    inputs = _findings.gather_inputs(str(proc), str(sys_), str(fs), "self")
    assert _findings.systemd_version(inputs.systemd_libraries) == 257
    assert inputs.interface_mtus == {"eth0": "1400\n", "lo": "65536\n"}
    assert inputs.inotify_instances == "128\n" and inputs.inotify_watches is None
    assert inputs.iptables_alternative == "/usr/sbin/iptables-nft"
    assert inputs.modules is None and inputs.sys_modules is None and inputs.containerd_snapshots is None
    findings, _not_run = _findings.analyze(inputs, [], "v1", "docker", True, {})
    assert _ids(findings) == ["systemd-cgroup-v1-deprecated", "inotify-limits-low", "mtu-below-default"]


DOCKER_VERSIONS = FIXTURES / "docker-version"
DOCKER_CASES = yaml.safe_load((DOCKER_VERSIONS / "cases.yml").read_text())


@pytest.mark.parametrize("name", sorted(k for k in DOCKER_CASES if k != "skew"))
def test_docker_version_fixture(name: str) -> None:
    expected = DOCKER_CASES[name]
    docker = _findings.parse_docker_version((DOCKER_VERSIONS / name).read_text())
    assert docker == expected["docker"]
    assert _ids(_findings.check_docker_api(docker)) == expected["finding_ids"]


@pytest.mark.parametrize("case", DOCKER_CASES["skew"], ids=lambda c: f"{c['outer']}>{c['inner']}")
def test_docker_skew_fixture(case: dict) -> None:
    outer = _findings.parse_docker_version((DOCKER_VERSIONS / case["outer"]).read_text())
    inner = _findings.parse_docker_version((DOCKER_VERSIONS / case["inner"]).read_text())
    assert _ids(_findings.check_docker_skew(outer, inner)) == case["finding_ids"]


JSON_28_ON_20 = (
    '{"Client": {"Version": "28.2.2", "ApiVersion": "1.41", "DefaultAPIVersion": "1.50"}, "Server": {"Components": '
    '[{"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {"ApiVersion": "1.41", "MinAPIVersion": "1.12"}}]}}'
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(JSON_28_ON_20, {"client_api": "1.50", "server_version": "20.10.24+dfsg1", "server_min_api": "1.12"},
                     id="json-text-uses-the-clients-default-api"),
        pytest.param({"Server": {"Version": "29.1.0", "ApiVersion": "1.52"}}, {"server_min_api": None},
                     id="parsed-json-without-min"),
        pytest.param("", None, id="empty"),
        pytest.param("nothing docker-like\n", None, id="unrelated-text"),
        pytest.param(42, None, id="not-text-or-mapping"),
    ],
)
def test_parse_docker_version_forms(value: object, expected: dict | None) -> None:
    result = _findings.parse_docker_version(value)
    if expected is None:
        assert result is None
    else:
        assert {key: result[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("docker", "ids"),
    [
        pytest.param({"server_version": "29.1.0", "client_api": "1.43"}, ["docker-client-too-old"],
                     id="engine-29-minimum-when-not-reported"),
        pytest.param({"server_version": "28.5.2", "client_api": "1.41"}, [], id="engine-28-no-minimum-known"),
        pytest.param({"server_min_api": "1.44", "client_api": "1.52"}, [], id="client-new-enough"),
        pytest.param({"server_min_api": "1.44", "client_api": "1.9"}, ["docker-client-too-old"], id="numeric-compare"),
        pytest.param(None, [], id="no-versions"),
    ],
)
def test_check_docker_api(docker: dict | None, ids: list) -> None:
    assert _ids(_findings.check_docker_api(docker)) == ids


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(None, False, id="omitted"),
        pytest.param("", False, id="empty-stdout"),
        pytest.param("Client:\n Version: 20.10.24\n API version: 1.41\n", False, id="docker-version-text"),
        pytest.param("bash: docker: command not found", True, id="not-docker-output"),
        pytest.param(["1.41"], True, id="a-list"),
    ],
)
def test_docker_version_error(value: object, error: bool) -> None:
    message = _findings.docker_version_error(value)
    assert (message is not None) is error
    if error:
        assert message.startswith("docker_version=") and "docker version" in message
