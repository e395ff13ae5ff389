# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure preflight checks for installing Sysbox (nestybox sysbox-ce) on a Docker host.

Two layers, so that the rules are tested on captured text and the I/O stays trivial:

* :func:`gather_inputs` reads every file below parameters (``proc_root``, ``sys_root``,
  ``fs_root``, ``os_release_path``) and returns a :class:`PreflightInputs` of plain text;
* :func:`evaluate` turns those inputs into a list of checks ``{id, ok, severity, message, fix}``
  and :func:`choose_networks` picks ``bip`` / ``default-address-pools`` that do not overlap the
  routes of ``/proc/net/route``.

Nothing here raises on a missing file: an absent input becomes ``None`` and the check that
needs it says what is unknown.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    parse_mountinfo,
    Reader,
)

# Minimum kernel per distribution release, as sysbox-ce's package enforces it.
# (ID from os-release, VERSION_ID) -> (major, minor). Anything else needs DEFAULT_MIN_KERNEL.
KERNEL_MATRIX: dict[tuple[str, str], tuple[int, int]] = {
    ("ubuntu", "18.04"): (5, 3),
    ("ubuntu", "20.04"): (5, 4),
    ("ubuntu", "21.10"): (5, 13),
    ("ubuntu", "22.04"): (5, 15),
    ("ubuntu", "24.04"): (6, 8),
    ("debian", "10"): (5, 5),
    ("debian", "11"): (5, 5),
}
DEFAULT_MIN_KERNEL: tuple[int, int] = (5, 5)
# Ubuntu derivatives (Linux Mint, Pop!_OS, ...) name their Ubuntu base in UBUNTU_CODENAME.
UBUNTU_CODENAMES: dict[str, str] = {"bionic": "18.04", "focal": "20.04", "impish": "21.10", "jammy": "22.04", "noble": "24.04"}
# ID-mapped mounts exist from Linux 5.12; older kernels need the shiftfs module.
IDMAPPED_MOUNTS_KERNEL: tuple[int, int] = (5, 12)
# Distributions the sysbox-ce .deb is built for.
PACKAGE_DISTROS = ("ubuntu", "debian")
# uname -m -> Debian architecture of the package.
ARCHITECTURES: dict[str, str] = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}
# Filesystems sysbox supports under /var/lib/docker and /var/lib/sysbox.
SUPPORTED_FILESYSTEMS = ("ext4", "btrfs")
CHECKED_PATHS: tuple[tuple[str, str], ...] = (
    ("fs_var_lib_docker", "/var/lib/docker"),
    ("fs_var_lib_sysbox", "/var/lib/sysbox"),
)
# Sysctls read by the preflight, relative to <proc_root>/sys.
SYSCTL_FILES: dict[str, str] = {
    "kernel.unprivileged_userns_clone": "kernel/unprivileged_userns_clone",
    "user.max_user_namespaces": "user/max_user_namespaces",
    "kernel.apparmor_restrict_unprivileged_userns": "kernel/apparmor_restrict_unprivileged_userns",
}
# Networks the sysbox-ce package would write itself (its postinst defaults), tried first.
SYSBOX_DEFAULT_BIP = "172.20.0.1/16"
SYSBOX_DEFAULT_POOL = "172.25.0.0/16"
DEFAULT_POOL_SIZE = 24

SEVERITIES = ("error", "warning", "info")
_KERNEL_RE = re.compile(r"^(\d+)\.(\d+)")


class Check(t.TypedDict):
    """One preflight finding. ``ok`` false with severity ``error`` blocks the install."""

    id: str
    ok: bool
    severity: str
    message: str
    fix: str


class PreflightInputs(t.NamedTuple):
    """Everything the preflight looks at, as plain text or values (``None`` = not readable)."""

    os_release: str | None
    kernel_release: str | None
    machine: str | None
    pid1_comm: str | None
    mountinfo: str | None
    sysctls: dict[str, str | None]
    shiftfs_loaded: bool
    snap_docker: list[str]


class Route(t.NamedTuple):
    iface: str
    network: ipaddress.IPv4Network


# ------------------------------------------------------------------ parsers


def parse_os_release(text: str | None) -> dict[str, str]:
    """Parse os-release(5) text: KEY=value lines, values optionally quoted."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key.strip()] = value.replace('\\"', '"').replace("\\\\", "\\")
    return result


def parse_kernel_version(release: str | None) -> tuple[int, int] | None:
    """``6.8.0-45-generic`` -> ``(6, 8)``; ``None`` when the text has no version."""
    match = _KERNEL_RE.match((release or "").strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def min_kernel_for(distro_id: str, version_id: str) -> tuple[int, int]:
    """Minimum kernel the package accepts on this release."""
    return KERNEL_MATRIX.get((distro_id, version_id), DEFAULT_MIN_KERNEL)


def filesystem_of(mountinfo_text: str | None, path: str) -> tuple[str, str] | None:
    """Return ``(fstype, mount_point)`` of the mount holding ``path`` (longest prefix, last mounted wins)."""
    if not mountinfo_text:
        return None
    best: tuple[str, str] | None = None
    best_len = -1
    for mount in parse_mountinfo(mountinfo_text):
        point = mount["mount_point"]
        prefix = point.rstrip("/") + "/"
        holds = path == point or path.startswith(prefix)
        if holds and len(point) >= best_len:
            best, best_len = (mount["fstype"], point), len(point)
    return best


def parse_routes(text: str | None) -> list[Route]:
    """Parse ``/proc/net/route`` (hex, little-endian) into routes; the default route is skipped."""
    routes: list[Route] = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            dest = int.from_bytes(bytes.fromhex(fields[1]), "little")
            mask = int.from_bytes(bytes.fromhex(fields[7]), "little")
        except ValueError:
            continue
        if mask == 0:
            continue
        prefix = bin(mask).count("1")  # the int bit_count method is Python 3.10+; managed hosts may have 3.8
        network = ipaddress.IPv4Network((dest & mask, prefix), strict=False)
        routes.append(Route(fields[0], network))
    return routes


def sysctl_int(value: str | None) -> int | None:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


# ------------------------------------------------------------------ checks


def _check(
    check_id: str, ok: bool, severity: str, message: str, fix: str = ""
) -> Check:
    return Check(
        id=check_id,
        ok=ok,
        severity=severity,
        message=message,
        fix=fix if not ok else "",
    )


def check_distro(os_release: dict[str, str]) -> Check:
    distro = os_release.get("ID", "").lower()
    version = os_release.get("VERSION_ID", "")
    name = os_release.get("PRETTY_NAME") or f"{distro} {version}".strip() or "unknown"
    if not os_release:
        return _check(
            "distro",
            False,
            "error",
            "os-release could not be read, so the distribution is unknown.",
            "Point os_release_path at the host's os-release file (/etc/os-release or /usr/lib/os-release).",
        )
    if distro in PACKAGE_DISTROS:
        return _check(
            "distro", True, "info", f"{name}: the sysbox-ce .deb is built for {distro}."
        )
    like = os_release.get("ID_LIKE", "").lower().split()
    if any(d in like for d in PACKAGE_DISTROS):
        return _check(
            "distro",
            False,
            "warning",
            f"{name} is derived from {' '.join(like)} but is not a distribution sysbox-ce is packaged for.",
            "Expect the .deb to install; if it does not, build Sysbox from source for this distribution.",
        )
    return _check(
        "distro",
        False,
        "error",
        f"{name}: sysbox-ce is packaged only for Ubuntu and Debian.",
        "Use an Ubuntu or Debian host, or build Sysbox from source (see the Sysbox developer's guide).",
    )


def package_release(os_release: dict[str, str]) -> tuple[str, str]:
    """``(ID, VERSION_ID)`` used for the kernel matrix; Ubuntu derivatives map to their Ubuntu base."""
    distro = os_release.get("ID", "").lower()
    release = os_release.get("VERSION_ID", "")
    base = UBUNTU_CODENAMES.get(os_release.get("UBUNTU_CODENAME", ""))
    if distro != "ubuntu" and base is not None:
        return "ubuntu", base
    return distro, release


def check_kernel(os_release: dict[str, str], kernel_release: str | None) -> Check:
    version = parse_kernel_version(kernel_release)
    distro, release = package_release(os_release)
    minimum = min_kernel_for(distro, release)
    wanted = f"{minimum[0]}.{minimum[1]}"
    where = f"{distro} {release}".strip() or "this distribution"
    if version is None:
        return _check(
            "kernel",
            False,
            "error",
            f"The kernel release {kernel_release!r} could not be read.",
            "Check proc_root: <proc_root>/sys/kernel/osrelease must hold the running kernel's release.",
        )
    if version < minimum:
        return _check(
            "kernel",
            False,
            "error",
            f"Kernel {kernel_release.strip() if kernel_release else ''} is older than {wanted}, the minimum sysbox-ce accepts on {where}.",
            f"Install a kernel >= {wanted} (for example the distribution's HWE or backports kernel) and reboot.",
        )
    return _check(
        "kernel",
        True,
        "info",
        f"Kernel {kernel_release.strip() if kernel_release else ''} >= {wanted} (minimum on {where}).",
    )


def check_arch(machine: str | None) -> Check:
    arch = ARCHITECTURES.get((machine or "").lower())
    if arch is None:
        return _check(
            "arch",
            False,
            "error",
            f"Architecture {machine!r} is not one sysbox-ce is built for.",
            "Use an amd64 (x86_64) or arm64 (aarch64) host.",
        )
    return _check(
        "arch", True, "info", f"Architecture {machine} (package architecture {arch})."
    )


def check_pid1(pid1_comm: str | None) -> Check:
    comm = (pid1_comm or "").strip()
    if comm == "systemd":
        return _check("pid1_systemd", True, "info", "PID 1 is systemd.")
    seen = comm or "unknown (proc_root/1/comm not readable)"
    return _check(
        "pid1_systemd",
        False,
        "error",
        f"PID 1 is {seen}, not systemd; the sysbox, sysbox-mgr and sysbox-fs services are systemd units.",
        "Run the install on a host (or a systemd node container) booted with systemd as init.",
    )


def check_snap(snap_docker: list[str]) -> Check:
    if snap_docker:
        return _check(
            "docker_not_snap",
            False,
            "error",
            f"Docker is installed as a snap ({', '.join(snap_docker)}); its daemon.json and binaries are not "
            "where sysbox-ce configures them.",
            "Remove the snap (snap remove docker) and install Docker natively (docker.io or docker-ce).",
        )
    return _check("docker_not_snap", True, "info", "Docker is not installed as a snap.")


def check_filesystems(mountinfo_text: str | None) -> list[Check]:
    checks: list[Check] = []
    for check_id, path in CHECKED_PATHS:
        found = filesystem_of(mountinfo_text, path)
        if found is None:
            checks.append(
                _check(
                    check_id,
                    False,
                    "error",
                    f"The filesystem of {path} is unknown (mountinfo not readable).",
                    "Check proc_root: <proc_root>/self/mountinfo must be readable.",
                )
            )
            continue
        fstype, point = found
        if fstype in SUPPORTED_FILESYSTEMS:
            checks.append(
                _check(
                    check_id,
                    True,
                    "info",
                    f"{path} is on {fstype} (mounted at {point}).",
                )
            )
        else:
            checks.append(
                _check(
                    check_id,
                    False,
                    "error",
                    f"{path} is on {fstype} (mounted at {point}); Sysbox supports only ext4 or btrfs there.",
                    f"Mount an ext4 or btrfs filesystem (or volume) at {path} before installing.",
                )
            )
    return checks


def check_idmap(kernel_release: str | None, shiftfs_loaded: bool) -> Check:
    version = parse_kernel_version(kernel_release)
    if version is not None and version >= IDMAPPED_MOUNTS_KERNEL:
        return _check(
            "idmapped_mounts",
            True,
            "info",
            f"Kernel >= {IDMAPPED_MOUNTS_KERNEL[0]}.{IDMAPPED_MOUNTS_KERNEL[1]} has ID-mapped mounts.",
        )
    if shiftfs_loaded:
        return _check(
            "idmapped_mounts",
            True,
            "info",
            "No ID-mapped mounts, but the shiftfs module is loaded.",
        )
    return _check(
        "idmapped_mounts",
        False,
        "warning",
        "Neither ID-mapped mounts (kernel >= 5.12) nor shiftfs are available: files bind-mounted into "
        "Sysbox containers will show as nobody:nogroup.",
        "Use a kernel >= 5.12, or load the shiftfs module (modprobe shiftfs) on Ubuntu kernels.",
    )


def check_sysctls(
    sysctls: dict[str, str | None], os_release: dict[str, str]
) -> list[Check]:
    checks: list[Check] = []
    clone = sysctls.get("kernel.unprivileged_userns_clone")
    if clone is None:
        checks.append(
            _check(
                "unprivileged_userns_clone",
                True,
                "info",
                "kernel.unprivileged_userns_clone does not exist on this kernel (user namespaces are not gated by it).",
            )
        )
    elif sysctl_int(clone) == 1:
        checks.append(
            _check(
                "unprivileged_userns_clone",
                True,
                "info",
                "kernel.unprivileged_userns_clone is 1.",
            )
        )
    else:
        checks.append(
            _check(
                "unprivileged_userns_clone",
                False,
                "error",
                f"kernel.unprivileged_userns_clone is {clone.strip()}; Sysbox needs it to be 1.",
                "sysctl -w kernel.unprivileged_userns_clone=1 and persist it in /etc/sysctl.d/.",
            )
        )
    max_ns = sysctls.get("user.max_user_namespaces")
    value = sysctl_int(max_ns)
    if max_ns is None:
        checks.append(
            _check(
                "max_user_namespaces",
                False,
                "warning",
                "user.max_user_namespaces could not be read.",
                "Check proc_root: <proc_root>/sys/user/max_user_namespaces must be readable.",
            )
        )
    elif value is None or value <= 0:
        checks.append(
            _check(
                "max_user_namespaces",
                False,
                "error",
                f"user.max_user_namespaces is {max_ns.strip()}; Sysbox needs user namespaces (> 0).",
                "sysctl -w user.max_user_namespaces=<a value such as 63000> and persist it in /etc/sysctl.d/.",
            )
        )
    else:
        checks.append(
            _check(
                "max_user_namespaces",
                True,
                "info",
                f"user.max_user_namespaces is {value}.",
            )
        )
    checks.append(
        _check_apparmor_userns(
            sysctls.get("kernel.apparmor_restrict_unprivileged_userns"), os_release
        )
    )
    return checks


def _ubuntu_at_least(os_release: dict[str, str], wanted: tuple[int, int]) -> bool:
    if os_release.get("ID", "").lower() != "ubuntu":
        return False
    parts = os_release.get("VERSION_ID", "").split(".")
    try:
        return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0) >= wanted
    except ValueError:
        return False


def _check_apparmor_userns(value: str | None, os_release: dict[str, str]) -> Check:
    check_id = "apparmor_restrict_unprivileged_userns"
    if value is None:
        if _ubuntu_at_least(os_release, (24, 4)):
            return _check(
                check_id,
                True,
                "info",
                "kernel.apparmor_restrict_unprivileged_userns does not exist on this kernel, so nothing restricts user namespaces.",
            )
        return _check(
            check_id,
            True,
            "info",
            "kernel.apparmor_restrict_unprivileged_userns is not present (not applicable).",
        )
    if sysctl_int(value) == 1:
        return _check(
            check_id,
            False,
            "warning",
            "kernel.apparmor_restrict_unprivileged_userns is 1: unprivileged processes may only create user "
            "namespaces under an AppArmor profile that allows it. Sysbox itself runs as root and is not "
            "affected, but rootless tools on the host and sysbox releases older than 0.6.4 are.",
            "Use sysbox-ce >= 0.6.4; set the sysctl to 0 only if unprivileged users on this host need user namespaces.",
        )
    return _check(
        check_id,
        True,
        "info",
        f"kernel.apparmor_restrict_unprivileged_userns is {value.strip()}.",
    )


def evaluate(inputs: PreflightInputs) -> list[Check]:
    """Every preflight check, in a fixed order."""
    os_release = parse_os_release(inputs.os_release)
    checks = [
        check_distro(os_release),
        check_kernel(os_release, inputs.kernel_release),
        check_arch(inputs.machine),
        check_pid1(inputs.pid1_comm),
        check_snap(inputs.snap_docker),
    ]
    checks.extend(check_filesystems(inputs.mountinfo))
    checks.append(check_idmap(inputs.kernel_release, inputs.shiftfs_loaded))
    checks.extend(check_sysctls(inputs.sysctls, os_release))
    return checks


def overall_ok(checks: list[Check]) -> bool:
    """True unless a check with severity ``error`` failed."""
    return not any(not c["ok"] and c["severity"] == "error" for c in checks)


# ------------------------------------------------------------------ networks


def _candidates(first: str, start: int, stop: int) -> list[ipaddress.IPv4Network]:
    nets = [ipaddress.IPv4Network(first, strict=False)]
    nets.extend(
        ipaddress.IPv4Network(f"172.{octet}.0.0/16") for octet in range(start, stop)
    )
    nets.extend(
        ipaddress.IPv4Network(f"10.{octet}.0.0/16") for octet in range(200, 256)
    )
    seen: list[ipaddress.IPv4Network] = []
    for net in nets:
        if net not in seen:
            seen.append(net)
    return seen


def _first_free(
    candidates: t.Iterable[ipaddress.IPv4Network], used: t.Sequence[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network | None:
    """The first candidate that overlaps none of ``used``."""
    return next((cand for cand in candidates if not any(cand.overlaps(net) for net in used)), None)


def choose_networks(
    route_text: str | None, pool_size: int = DEFAULT_POOL_SIZE
) -> dict[str, t.Any]:
    """Pick ``bip`` and ``default-address-pools`` that overlap no route in ``/proc/net/route``.

    When ``docker0`` already has a route, ``bip`` keeps that network (dockerd gives the
    bridge the first address), so writing it changes nothing for running containers.
    Otherwise the package's own choices come first, then other private /16 ranges.
    """
    if not 16 <= pool_size <= 30:
        raise ValueError(
            f"pool_size={pool_size} is outside 16..30; use a prefix length such as 24"
        )
    routes = parse_routes(route_text)
    docker0 = [r.network for r in routes if r.iface == "docker0"]
    others = [r.network for r in routes if r.iface != "docker0"]
    reasons: list[str] = []
    if docker0:
        bip_net = docker0[0]
        bip = f"{next(bip_net.hosts())}/{bip_net.prefixlen}"
        reasons.append(
            f"bip {bip}: the network docker0 uses now, so running containers keep their addresses"
        )
    else:
        free = _first_free(_candidates(SYSBOX_DEFAULT_BIP, 20, 32), others)
        if free is None:
            raise ValueError(
                "every candidate range for bip overlaps an existing route; set sysbox_bip yourself"
            )
        bip_net = free
        bip = f"{next(bip_net.hosts())}/{bip_net.prefixlen}"
        reasons.append(f"bip {bip}: first candidate overlapping no route")
    used = others + [bip_net] + docker0
    pool = _first_free(_candidates(SYSBOX_DEFAULT_POOL, 25, 32), used)
    if pool is None:
        raise ValueError(
            "every candidate range for default-address-pools overlaps a route; set sysbox_default_address_pools yourself"
        )
    reasons.append(
        f"default-address-pools {pool} size {pool_size}: first candidate overlapping no route nor bip"
    )
    return {
        "bip": bip,
        "default_address_pools": [{"base": str(pool), "size": pool_size}],
        "routes": [{"iface": r.iface, "network": str(r.network)} for r in routes],
        "reasons": reasons,
    }


# ------------------------------------------------------------------ I/O (paths are parameters)


def _snap_docker(fs_root: str, mountinfo_text: str | None) -> list[str]:
    found: list[str] = []
    for rel in ("snap/bin/docker", "snap/docker/current", "var/snap/docker"):
        path = os.path.join(fs_root, rel)
        if os.path.lexists(path):
            found.append("/" + rel)
    for mount in parse_mountinfo(mountinfo_text or ""):
        if mount["mount_point"].startswith("/snap/docker/"):
            found.append(f"mount {mount['mount_point']}")
            break
    return found


def gather_inputs(
    proc_root: str = "/proc",
    sys_root: str = "/sys",
    fs_root: str = "/",
    os_release_path: str = "/etc/os-release",
    machine: str | None = None,
    pid: str = "self",
    reader: Reader | None = None,
) -> tuple[PreflightInputs, list[str]]:
    """Read every input below the given roots; return the inputs and warnings for unreadable files."""
    warnings: list[str] = []
    reader = reader or Reader()

    def read(root: str, *parts: str, quiet: bool = False) -> str | None:
        result = reader.text(root, *parts)
        if result.warning and not quiet:
            warnings.append(result.warning)
        return result.text

    os_release = read(
        os.path.dirname(os_release_path) or ".", os.path.basename(os_release_path)
    )
    mountinfo = read(proc_root, pid, "mountinfo")
    sysctls = {
        name: read(proc_root, "sys", rel, quiet=True)
        for name, rel in SYSCTL_FILES.items()
    }
    modules = read(proc_root, "modules", quiet=True) or ""
    shiftfs = os.path.isdir(os.path.join(sys_root, "module", "shiftfs")) or any(
        line.split(" ", 1)[0] == "shiftfs" for line in modules.splitlines()
    )
    inputs = PreflightInputs(
        os_release=os_release,
        kernel_release=read(proc_root, "sys", "kernel", "osrelease"),
        machine=machine,
        pid1_comm=read(proc_root, "1", "comm"),
        mountinfo=mountinfo,
        sysctls=sysctls,
        shiftfs_loaded=shiftfs,
        snap_docker=_snap_docker(fs_root, mountinfo),
    )
    return inputs, warnings


def preflight(
    proc_root: str = "/proc",
    sys_root: str = "/sys",
    fs_root: str = "/",
    os_release_path: str = "/etc/os-release",
    machine: str | None = None,
    pid: str = "self",
    pool_size: int = DEFAULT_POOL_SIZE,
) -> tuple[dict[str, t.Any], list[str]]:
    """Gather, evaluate and pick networks: the module's whole result."""
    reader = Reader()
    inputs, warnings = gather_inputs(
        proc_root, sys_root, fs_root, os_release_path, machine, pid, reader
    )
    checks = evaluate(inputs)
    route_text = reader.text(proc_root, "net", "route")
    if route_text.warning:
        warnings.append(route_text.warning)
    networks = choose_networks(route_text.text, pool_size)
    os_release = parse_os_release(inputs.os_release)
    result = {
        "ok": overall_ok(checks),
        "checks": checks,
        "failed_checks": [
            c["id"] for c in checks if not c["ok"] and c["severity"] == "error"
        ],
        "warning_checks": [
            c["id"] for c in checks if not c["ok"] and c["severity"] == "warning"
        ],
        "distribution": os_release.get("ID"),
        "distribution_version": os_release.get("VERSION_ID"),
        "kernel": (inputs.kernel_release or "").strip() or None,
        "package_architecture": ARCHITECTURES.get((inputs.machine or "").lower()),
        "bip": networks["bip"],
        "default_address_pools": networks["default_address_pools"],
        "network_reasons": networks["reasons"],
    }
    return result, warnings
