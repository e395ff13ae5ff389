# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven tests of the Sysbox preflight on captured and published fixture data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.nested.hosts.plugins.module_utils import _sysbox as sysbox
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

SYSBOX = FIXTURES / "sysbox"
CASES: list[dict[str, Any]] = yaml.safe_load((SYSBOX / "cases.yml").read_text())


def _text(kind: str, name: str | None) -> str | None:
    return None if name is None else (SYSBOX / kind / name).read_text()


def _inputs(case: dict[str, Any]) -> sysbox.PreflightInputs:
    return sysbox.PreflightInputs(
        os_release=_text("os-release", case["os_release"]),
        kernel_release=case["kernel"],
        machine=case["machine"],
        pid1_comm=case["pid1_comm"],
        mountinfo=_text("mountinfo", case["mountinfo"]),
        sysctls=case["sysctls"],
        shiftfs_loaded=case.get("shiftfs", False),
        snap_docker=case.get("snap", []),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_preflight_matrix(case: dict[str, Any]) -> None:
    checks = sysbox.evaluate(_inputs(case))
    errors = [c["id"] for c in checks if not c["ok"] and c["severity"] == "error"]
    warnings = [c["id"] for c in checks if not c["ok"] and c["severity"] == "warning"]
    assert errors == case["errors"]
    assert warnings == case["warnings"]
    assert sysbox.overall_ok(checks) is (not case["errors"])
    for check in checks:
        assert check["severity"] in sysbox.SEVERITIES
        assert check["message"]
        # a failed check always says what to do; a passed one never carries a fix
        assert bool(check["fix"]) is (not check["ok"])


def test_every_check_id_is_reported_once() -> None:
    checks = sysbox.evaluate(_inputs(CASES[0]))
    ids = [c["id"] for c in checks]
    assert len(ids) == len(set(ids)) == 11


@pytest.mark.parametrize(
    ("distro", "version", "kernel", "ok"),
    [
        ("ubuntu", "18.04", "5.3.0-76-generic", True),
        ("ubuntu", "18.04", "5.2.21", False),
        ("ubuntu", "20.04", "5.4.0-150-generic", True),
        ("ubuntu", "20.04", "5.3.18", False),
        ("ubuntu", "21.10", "5.13.0-52-generic", True),
        ("ubuntu", "21.10", "5.12.19", False),
        ("ubuntu", "22.04", "5.15.0-91-generic", True),
        ("ubuntu", "22.04", "5.14.21", False),
        ("ubuntu", "24.04", "6.8.0-45-generic", True),
        ("ubuntu", "24.04", "6.7.12", False),
        ("debian", "10", "5.10.0-0.deb10.30-amd64", True),
        ("debian", "10", "4.19.0-27-amd64", False),
        ("debian", "11", "5.5.0", True),
        ("debian", "11", "5.4.0", False),
        ("debian", "12", "6.1.0-26-amd64", True),
        ("arch", "", "5.5.19", True),
        ("arch", "", "5.4.99", False),
        ("ubuntu", "23.10", "5.4.0", False),
    ],
)
def test_kernel_matrix(distro: str, version: str, kernel: str, ok: bool) -> None:
    check = sysbox.check_kernel({"ID": distro, "VERSION_ID": version}, kernel)
    assert check["ok"] is ok
    assert check["severity"] == ("info" if ok else "error")


@pytest.mark.parametrize(
    ("release", "expected"),
    [("6.8.0-45-generic", (6, 8)), ("5.15.0", (5, 15)), ("4.19.0-27-amd64", (4, 19)), ("", None), ("garbage", None), (None, None)],
)
def test_parse_kernel_version(release: str | None, expected: tuple[int, int] | None) -> None:
    assert sysbox.parse_kernel_version(release) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("debian-12", {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}),
        ("ubuntu-24.04", {"ID": "ubuntu", "VERSION_ID": "24.04", "ID_LIKE": "debian"}),
        ("fedora-31", {"ID": "fedora", "VERSION_ID": "31", "VERSION_CODENAME": ""}),
        ("linuxmint-19.1", {"ID": "linuxmint", "ID_LIKE": "ubuntu", "UBUNTU_CODENAME": "bionic"}),
    ],
)
def test_parse_os_release(name: str, expected: dict[str, str]) -> None:
    parsed = sysbox.parse_os_release(_text("os-release", name))
    assert {k: parsed.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("mountinfo", "path", "expected"),
    [
        ("vm-host", "/var/lib/docker", ("ext4", "/var/lib/docker")),
        ("vm-host", "/var/lib/sysbox", ("ext4", "/")),
        ("docker-container-overlay", "/var/lib/docker", ("overlay", "/")),
        ("docker-container-volumes", "/var/lib/docker", ("ext4", "/var/lib/docker")),
        ("docker-container-volumes", "/var/lib/docker/overlay2", ("ext4", "/var/lib/docker")),
        ("docker-container-volumes", "/var/lib/sysbox", ("ext4", "/var/lib/sysbox")),
        ("docker-container-volumes", "/var/lib/sysboxfs", ("overlay", "/")),
    ],
)
def test_filesystem_of(mountinfo: str, path: str, expected: tuple[str, str]) -> None:
    assert sysbox.filesystem_of(_text("mountinfo", mountinfo), path) == expected


def test_filesystem_of_without_mountinfo() -> None:
    assert sysbox.filesystem_of(None, "/var/lib/docker") is None


@pytest.mark.parametrize(
    ("route", "bip", "pool"),
    [
        # docker0 exists: keep its network, take the package's own pool
        ("vm-host", "172.17.0.1/16", "172.25.0.0/16"),
        # the package's pool is already routed: move to the next free /16
        ("vm-host-172.20-172.25-taken", "172.17.0.1/16", "172.26.0.0/16"),
    ],
)
def test_choose_networks_from_captured_routes(route: str, bip: str, pool: str) -> None:
    chosen = sysbox.choose_networks(_text("route", route))
    assert chosen["bip"] == bip
    assert chosen["default_address_pools"] == [{"base": pool, "size": 24}]


def _route_table(*rows: tuple[str, str, str]) -> str:
    """Build /proc/net/route text from (iface, network, mask) in dotted form, little-endian hex like the kernel."""
    header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
    lines = [header]
    for iface, dest, mask in rows:
        hexed = [bytes(int(x) for x in value.split(".")).hex().upper() for value in (dest, mask)]
        le = ["".join(reversed([h[i : i + 2] for i in range(0, 8, 2)])) for h in hexed]
        lines.append(f"{iface}\t{le[0]}\t00000000\t0001\t0\t0\t0\t{le[1]}\t0\t0\t0")
    return "\n".join(lines) + "\n"


def test_route_table_helper_matches_the_kernel_format() -> None:
    # the captured table says docker0 000011AC / 0000FFFF
    assert "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF" in _route_table(("docker0", "172.17.0.0", "255.255.0.0"))


def test_choose_networks_without_docker0_avoids_routes() -> None:
    text = _route_table(("eth0", "172.20.0.0", "255.255.0.0"), ("eth1", "172.16.0.0", "255.240.0.0"), ("wg0", "172.25.0.0", "255.255.255.0"))
    chosen = sysbox.choose_networks(text)
    # 172.16.0.0/12 covers every 172.x candidate: fall back to 10.200.0.0/16 and then the next free one
    assert chosen["bip"] == "10.200.0.1/16"
    assert chosen["default_address_pools"] == [{"base": "10.201.0.0/16", "size": 24}]


def test_choose_networks_no_routes_takes_package_defaults() -> None:
    chosen = sysbox.choose_networks(None, pool_size=20)
    assert chosen["bip"] == sysbox.SYSBOX_DEFAULT_BIP
    assert chosen["default_address_pools"] == [{"base": sysbox.SYSBOX_DEFAULT_POOL, "size": 20}]


def test_choose_networks_everything_taken() -> None:
    with pytest.raises(ValueError, match="bip"):
        sysbox.choose_networks(_route_table(("eth0", "0.0.0.0", "128.0.0.0"), ("eth1", "128.0.0.0", "128.0.0.0")))


def test_choose_networks_rejects_bad_pool_size() -> None:
    with pytest.raises(ValueError, match="pool_size=8"):
        sysbox.choose_networks(None, pool_size=8)


def test_parse_routes_skips_default_and_garbage() -> None:
    routes = sysbox.parse_routes(_text("route", "vm-host") + "short line\n")
    assert [(r.iface, str(r.network)) for r in routes] == [("docker0", "172.17.0.0/16"), ("eth0", "192.0.2.0/24")]


def test_gather_inputs_reads_below_the_roots(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / "sys" / "kernel").mkdir(parents=True)
    (proc / "sys" / "user").mkdir()
    (proc / "1" / "comm").write_text("systemd\n")
    (proc / "self" / "mountinfo").write_text(_text("mountinfo", "docker-container-volumes") or "")
    (proc / "sys" / "kernel" / "osrelease").write_text("6.1.0-26-amd64\n")
    (proc / "sys" / "user" / "max_user_namespaces").write_text("63445\n")
    (proc / "modules").write_text("shiftfs 32768 0 - Live 0x0000000000000000\noverlay 151552 0 - Live 0x0000000000000000\n")
    fs_root = tmp_path / "root"
    (fs_root / "snap" / "bin").mkdir(parents=True)
    (fs_root / "snap" / "bin" / "docker").write_text("")
    os_release = tmp_path / "os-release"
    os_release.write_text(_text("os-release", "debian-12") or "")
    inputs, warnings = sysbox.gather_inputs(str(proc), str(tmp_path / "sys"), str(fs_root), str(os_release), "x86_64")
    assert inputs.pid1_comm == "systemd\n"
    assert inputs.kernel_release == "6.1.0-26-amd64\n"
    assert inputs.shiftfs_loaded is True
    assert inputs.snap_docker == ["/snap/bin/docker"]
    assert inputs.sysctls == {
        "kernel.unprivileged_userns_clone": None,
        "user.max_user_namespaces": "63445\n",
        "kernel.apparmor_restrict_unprivileged_userns": None,
    }
    assert warnings == []


def test_ubuntu_derivative_uses_its_ubuntu_base() -> None:
    mint = sysbox.parse_os_release(_text("os-release", "linuxmint-19.1"))
    assert sysbox.package_release(mint) == ("ubuntu", "18.04")
    assert sysbox.check_kernel(mint, "5.4.0-150-generic")["ok"] is True
    assert sysbox.check_kernel(mint, "5.2.0")["ok"] is False
