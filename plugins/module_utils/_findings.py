# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks that decide whether nesting will work on a modern stack (pure, typed).

Each check takes already-read texts (``None`` = missing) and returns findings, each a dict with
``id``, ``severity``, ``message`` and ``fix``. A check whose inputs are all missing returns no
finding and says why in ``not_run`` (``{id, reason}``), so a missing file never passes for a clean
bill of health. ``gather_inputs`` reads the files below the roots; nothing else here touches disk.
"""

from __future__ import annotations

import glob
import json
import os
import re
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils._kernel import MountInfo, Reader

# kind's known-issues page asks for these on hosts that run many nodes.
INOTIFY_MIN_INSTANCES = 512
INOTIFY_MIN_WATCHES = 524288
# Kernel modules an inner dockerd needs for its iptables rules (iptable_raw since Docker 28).
IPTABLES_MODULES = ("ip_tables", "iptable_nat", "iptable_raw", "nf_tables")
LXC_RUNTIMES = ("lxc", "lxd", "incus")
_SYSTEMD_SHARED = re.compile(r"libsystemd-shared-(\d+)(?:[.~-][^/]*)?\.so$")
_SYSTEMD_GLOBS = (
    "usr/lib/systemd/libsystemd-shared-*.so",
    "lib/systemd/libsystemd-shared-*.so",
    "usr/lib/*-linux-gnu*/systemd/libsystemd-shared-*.so",
    "usr/lib64/systemd/libsystemd-shared-*.so",
)


class Inputs(t.NamedTuple):
    """What the checks read (``None`` = missing or unreadable)."""

    systemd_libraries: list[str]
    inotify_instances: str | None
    inotify_watches: str | None
    route: str | None
    interface_mtus: dict[str, str | None]
    daemon_json: str | None
    ip_tables_names: str | None
    modules: str | None
    sys_modules: list[str] | None
    iptables_alternative: str | None
    containerd_snapshots: list[str] | None


def finding(id_: str, severity: str, message: str, fix: str) -> dict[str, str]:
    return {"id": id_, "severity": severity, "message": message, "fix": fix}


def systemd_version(libraries: list[str]) -> int | None:
    """The systemd version from the name of ``libsystemd-shared-<N>.so`` (highest when several)."""
    versions = [int(m.group(1)) for m in (_SYSTEMD_SHARED.search(path) for path in libraries) if m]
    return max(versions) if versions else None


def check_systemd(version: int | None, cgroup_version: str | None) -> list[dict[str, str]]:
    """systemd 256+ on cgroup v1 (hybrid counts: systemd treats it as legacy) is tainted and delayed; 258+ cannot run."""
    if version is None or cgroup_version not in ("v1", "hybrid"):
        return []
    if version >= 258:
        return [
            finding(
                "systemd-cgroup-v1-unsupported",
                "high",
                f"systemd {version} is installed here and the process sees cgroup {cgroup_version}: systemd 258 and later "
                "no longer boot on cgroup v1, so a node built from this image does not start.",
                "Run nodes on a cgroup v2 host (systemd.unified_cgroup_hierarchy=1 on the kernel command line), or build "
                "the node image from a release with systemd 257 or older.",
            )
        ]
    if version >= 256:
        return [
            finding(
                "systemd-cgroup-v1-deprecated",
                "medium",
                f"systemd {version} is installed here and the process sees cgroup {cgroup_version}: systemd 256-257 boot on "
                "cgroup v1 only tainted ('cgroupsv1') and after a delay, and refuse without the override.",
                "Move the host to cgroup v2; until then start the node with SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 in its "
                "environment and systemd.unified_cgroup_hierarchy=0 on its command line.",
            )
        ]
    return []


def _int(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isdigit() else None


def check_inotify(instances_text: str | None, watches_text: str | None) -> list[dict[str, str]]:
    """Too few inotify instances or watches for many nested nodes (each runs systemd, dockerd, kubelet ...)."""
    instances, watches = _int(instances_text), _int(watches_text)
    low = []
    if instances is not None and instances < INOTIFY_MIN_INSTANCES:
        low.append(f"fs.inotify.max_user_instances is {instances} (at least {INOTIFY_MIN_INSTANCES} advised)")
    if watches is not None and watches < INOTIFY_MIN_WATCHES:
        low.append(f"fs.inotify.max_user_watches is {watches} (at least {INOTIFY_MIN_WATCHES} advised)")
    if not low:
        return []
    return [
        finding(
            "inotify-limits-low",
            "medium",
            "; ".join(low) + ": the limits are per user and shared by every nested node, so services inside them fail "
            "with 'too many open files' once several nodes run.",
            f"On the host: sysctl -w fs.inotify.max_user_instances={INOTIFY_MIN_INSTANCES} "
            f"fs.inotify.max_user_watches={INOTIFY_MIN_WATCHES}, and keep them in /etc/sysctl.d/.",
        )
    ]


def default_route_interface(route_text: str | None) -> str | None:
    """The interface of the IPv4 default route in ``/proc/<pid>/net/route``."""
    for line in (route_text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            return fields[0]
    return None


# Interfaces that are not an uplink: loopback, bridges, veths, tunnels and CNI devices.
_NOT_UPLINK = re.compile(
    r"^(lo|docker\d*|br-.*|veth.*|virbr.*|cni.*|flannel.*|cali.*|vxlan.*|tun.*|tap.*|ifb.*|kube.*|weave.*"
    r"|lxcbr.*|lxdbr.*|incusbr.*|podman.*|cilium.*|genev.*|wg.*|dummy.*)$"
)


def uplinks(route_text: str | None, mtus: dict[str, str | None]) -> tuple[list[str], str]:
    """The interfaces traffic leaves through, and how they were chosen (one sentence part)."""
    interface = default_route_interface(route_text)
    if interface is not None:
        return [interface], f"The default route leaves through {interface}"
    candidates = sorted(name for name in mtus if not _NOT_UPLINK.match(name))
    if candidates:
        return candidates, (
            "With no readable net/route the uplink is taken to be "
            + ("the only interface that is not a bridge, veth or tunnel, " if len(candidates) == 1 else "any of ")
            + ", ".join(candidates)
        )
    return [], ""


def check_mtu(
    route_text: str | None, mtus: dict[str, str | None], daemon_json: str | None
) -> list[dict[str, str]]:
    """An uplink MTU below 1500 while a Docker daemon here would give its bridge the default 1500."""
    names, how = uplinks(route_text, mtus)
    low: list[tuple[str, int]] = []
    for name in names:
        value = _int(mtus.get(name))
        if value is not None and value < 1500:
            low.append((name, value))
    if not low:
        return []
    mtu = min(value for _name, value in low)
    configured: int | None = None
    if daemon_json:
        try:
            setting = json.loads(daemon_json).get("mtu")
        except (ValueError, AttributeError):
            setting = None
        configured = setting if isinstance(setting, int) else None
    if configured is not None and configured <= mtu:
        return []
    return [
        finding(
            "mtu-below-default",
            "medium",
            f"{how}, with MTU {', '.join(f'{n} {m}' for n, m in low)}, but a Docker daemon here "
            f"gives its networks MTU {configured or 1500}"
            + (" (daemon.json)" if configured else " (the default)")
            + ": packets larger than the uplink allows are dropped, so pulls and TLS handshakes in nested containers hang.",
            f'Set "mtu": {mtu} in the daemon.json of every Docker daemon started from here (and lower again for any '
            "tunnel on the way), e.g. with nested.hosts.docker_daemon_config.",
        )
    ]


def check_iptables(
    ip_tables_names: str | None,
    modules: str | None,
    sys_modules: list[str] | None,
    alternative: str | None,
    in_container: bool,
) -> list[dict[str, str]]:
    """Legacy and nft backends mixed, and the kernel modules an inner dockerd needs."""
    result: list[dict[str, str]] = []
    backend = None
    if alternative:
        backend = "nft" if alternative.endswith("-nft") else "legacy" if alternative.endswith("-legacy") else None
    legacy_tables = [name for name in (ip_tables_names or "").split() if name]
    if backend == "nft" and legacy_tables:
        result.append(
            finding(
                "iptables-backends-mixed",
                "medium",
                f"iptables here is {alternative} (nft), but this network namespace also holds legacy tables "
                f"({', '.join(legacy_tables)}): rules written by one backend are invisible to the other, so an inner "
                "dockerd's NAT and filter rules may not apply.",
                "Use one backend at every level: update-alternatives --set iptables /usr/sbin/iptables-legacy (and "
                "ip6tables) where the outer level uses legacy, or move every level to nft.",
            )
        )
    if modules is not None:
        loaded = {line.split()[0] for line in modules.splitlines() if line.split()}
        present = loaded | set(sys_modules or [])
        legacy_missing = [name for name in IPTABLES_MODULES[:3] if name not in present]
        nft_missing = [name for name in IPTABLES_MODULES[3:] if name not in present]
        if backend == "legacy":
            missing = legacy_missing
        elif backend == "nft":
            missing = nft_missing
        else:
            # Backend unknown: one complete set suffices.
            missing = legacy_missing + nft_missing if legacy_missing and nft_missing else []
        if missing:
            result.append(
                finding(
                    "iptables-modules-missing",
                    "high" if in_container else "low",
                    f"The kernel modules {', '.join(missing)} are not loaded"
                    + (
                        ": a dockerd in this container cannot load them (the host's kernel holds the modules), so "
                        "it fails to set up its iptables chains (iptable_raw is needed since Docker 28)."
                        if in_container
                        else "; dockerd loads them itself here, but nested daemons cannot."
                    ),
                    f"On the host: modprobe {' '.join(missing)}, and list them in /etc/modules-load.d/ so they load at boot.",
                )
            )
    return result


def _covering_mount(path: str, mounts: list[MountInfo]) -> MountInfo | None:
    best: MountInfo | None = None
    for mount in mounts:
        point = mount["mount_point"].rstrip("/") or "/"
        if path == point or path.startswith(point.rstrip("/") + "/") or point == "/":
            if best is None or len(point) >= len(best["mount_point"].rstrip("/") or "/"):
                best = mount
    return best


def check_storage(
    mounts: list[MountInfo], in_container: bool, containerd_snapshots: list[str] | None
) -> list[dict[str, str]]:
    """The filesystem under /var/lib/docker and /var/lib/containerd: overlay on overlay breaks the inner daemon."""
    if not mounts or not in_container:
        return []
    result: list[dict[str, str]] = []
    docker = _covering_mount("/var/lib/docker", mounts)
    if docker is not None and docker["fstype"] in ("overlay", "aufs", "fuse-overlayfs"):
        result.append(
            finding(
                "storage-overlay-on-overlay",
                "high",
                f"/var/lib/docker lies on the container's {docker['fstype']} root ({docker['mount_point']}): an inner "
                "dockerd cannot put overlay2 on overlay, so it falls back to the slow vfs driver or fails to start.",
                "Give the container a volume at /var/lib/docker (e.g. -v <name>-lib:/var/lib/docker), so the inner "
                "daemon's storage sits on the host's filesystem.",
            )
        )
    containerd = _covering_mount("/var/lib/containerd", mounts)
    if (
        containerd is not None
        and containerd["fstype"] in ("overlay", "aufs", "fuse-overlayfs")
        and containerd_snapshots
    ):
        result.append(
            finding(
                "storage-containerd-overlay-on-overlay",
                "high",
                f"/var/lib/containerd holds overlayfs snapshots and lies on the container's {containerd['fstype']} "
                "root: containerd's overlayfs snapshotter (used by Docker 29's default containerd image store) cannot "
                "stack on overlay.",
                "Give the container a volume at /var/lib/containerd as well as /var/lib/docker.",
            )
        )
    return result


def check_lxc_apparmor(runtime: str, apparmor: dict[str, t.Any]) -> list[dict[str, str]]:
    """Docker inside LXC/LXD/Incus under AppArmor after the runc 1.3.3 / Docker 28.5.2 fixes (CVE-2025-52881)."""
    if runtime not in LXC_RUNTIMES:
        return []
    current = apparmor.get("current") or {}
    profile = current.get("profile")
    if profile == "unconfined":
        return []
    confined = bool(apparmor.get("available")) and profile not in (None, "unconfined")
    name = {"lxc": "an LXC", "lxd": "an LXD", "incus": "an Incus"}[runtime]
    where = (
        f"confined by the AppArmor profile {profile!r}"
        if confined
        else "and its AppArmor label is not visible here (LXC, LXD and Incus confine containers by default)"
    )
    return [
        finding(
            "lxc-apparmor-runc-sysctl",
            "high" if confined else "medium",
            f"This is {name} container, {where}: since runc 1.3.3 / Docker 28.5.2 (fixes for CVE-2025-52881) runc "
            "writes sysctls through a detached procfs, which the LXC AppArmor rules deny, so a nested 'docker run' "
            "fails with 'open sysctl net.ipv4.ip_unprivileged_port_start file: reopen fd 8: permission denied'.",
            "On the LXC host: set the container's AppArmor profile to unconfined (lxc.apparmor.profile=unconfined; "
            "Incus/LXD raw.lxc), or pre-set the sysctl (Incus/LXD linux.sysctl.net.ipv4.ip_unprivileged_port_start=0), "
            "or use an AppArmor/LXC release with the fixed rules; pinning containerd.io/runc below 1.3.3 reopens the CVE.",
        )
    ]


_TOO_OLD = re.compile(
    r"client version (?P<client>\d+\.\d+) is too old\. Minimum supported API version is (?P<min>\d+\.\d+)"
)
# Docker Engine 29 refuses clients below this API version (unless DOCKER_MIN_API_VERSION lowers it).
ENGINE_29_MIN_API = "1.44"


def _api(value: t.Any) -> tuple[int, int] | None:
    match = re.match(r"^\s*(\d+)\.(\d+)", str(value or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def _major(version: str | None) -> int | None:
    match = re.match(r"^\s*v?(\d+)\.", version or "")
    return int(match.group(1)) if match else None


def parse_docker_version(value: t.Any) -> dict[str, t.Any] | None:
    """Versions from ``docker version`` output: the text form, its ``--format '{{json .}}'`` form (text or
    parsed), or only the daemon's 'client version X is too old' error. ``None`` when nothing is recognised."""
    if value is None or value == "" or value == {}:
        return None
    doc = value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            doc = json.loads(value)
        except ValueError:
            doc = value
    result: dict[str, t.Any] = dict.fromkeys(
        ("client_version", "client_api", "server_version", "server_api", "server_min_api", "refused_client_api")
    )
    if isinstance(doc, dict):
        client = doc.get("Client") or {}
        server = doc.get("Server") or {}
        engine: dict[str, t.Any] = next(
            (c for c in server.get("Components") or [] if c.get("Name") == "Engine"), {}
        )
        details = engine.get("Details") or {}
        result.update(
            client_version=client.get("Version"),
            client_api=client.get("DefaultAPIVersion") or client.get("ApiVersion"),
            server_version=server.get("Version") or engine.get("Version"),
            server_api=server.get("ApiVersion") or details.get("ApiVersion"),
            server_min_api=server.get("MinAPIVersion") or details.get("MinAPIVersion"),
        )
    elif isinstance(doc, str):
        section = None
        for line in doc.splitlines():
            stripped = line.strip()
            if line.startswith("Client"):
                section = "client"
            elif line.startswith("Server"):
                section = "server"
            elif stripped.startswith(("containerd:", "runc:", "docker-init:")):
                section = "other"
            key, sep, rest = stripped.partition(":")
            rest = rest.strip()
            if not sep or section not in ("client", "server"):
                continue
            if key == "Version" and result[f"{section}_version"] is None:
                result[f"{section}_version"] = rest
            elif key == "API version" and result[f"{section}_api"] is None:
                api = re.match(r"^(\S+)(?:\s+\(minimum version (\S+)\))?", rest)
                if api:
                    result[f"{section}_api"] = api.group(1)
                    if section == "server" and api.group(2):
                        result["server_min_api"] = api.group(2)
        refused = _TOO_OLD.search(doc)
        if refused:
            result["refused_client_api"] = refused.group("client")
            result["server_min_api"] = result["server_min_api"] or refused.group("min")
    else:
        return None
    if not any(result.values()):
        return None
    return result


def docker_version_error(value: t.Any) -> str | None:
    """The module's error for a ``docker_version`` that is given but holds no Docker versions (empty is omitted)."""
    if value is None or value == "" or value == {} or parse_docker_version(value) is not None:
        return None
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return (
        f"docker_version={shown} holds no Docker versions; pass the output of 'docker version' (its text, or its "
        "JSON from --format '{{json .}}'), or leave docker_version out."
    )


def min_api(docker: dict[str, t.Any]) -> str | None:
    """The lowest API the daemon accepts: as reported, else 1.44 for Engine 29 and later."""
    if docker.get("server_min_api"):
        return str(docker["server_min_api"])
    major = _major(docker.get("server_version"))
    return ENGINE_29_MIN_API if major is not None and major >= 29 else None


def check_docker_api(docker: dict[str, t.Any] | None) -> list[dict[str, str]]:
    """A client (the CLI here, or a tool whose request the daemon refused) below the daemon's minimum API."""
    if not docker:
        return []
    lowest = min_api(docker)
    client = docker.get("refused_client_api") or docker.get("client_api")
    have, need = _api(client), _api(lowest)
    if have is None or need is None or have >= need:
        return []
    server = f"Docker Engine {docker['server_version']}" if docker.get("server_version") else "The Docker daemon"
    return [
        finding(
            "docker-client-too-old",
            "high",
            f"{server} accepts API {lowest} and later, but a client here speaks API {client}: the daemon refuses it "
            f"('client version {client} is too old'); Docker Engine 29 raised the minimum to {ENGINE_29_MIN_API}.",
            "Upgrade the client (docker CLI 25 or later, or the tool's Docker SDK) at this level; until then start the "
            f"daemon with DOCKER_MIN_API_VERSION={client} in its environment (Docker 29), or keep Engine 28 here.",
        )
    ]


def check_docker_skew(outer: dict[str, t.Any] | None, inner: dict[str, t.Any] | None) -> list[dict[str, str]]:
    """An inner daemon newer than the client of the level it runs on: tools there that talk to it are refused."""
    if not outer or not inner:
        return []
    lowest = min_api(inner)
    client = outer.get("client_api")
    have, need = _api(client), _api(lowest)
    if have is None or need is None or have >= need:
        return []
    return [
        finding(
            "docker-inner-daemon-newer-than-outer-client",
            "high",
            f"The daemon at this level (Docker Engine {inner.get('server_version') or '?'}) accepts API {lowest} and "
            f"later, but the Docker client of the level it runs on (version {outer.get('client_version') or '?'}) "
            f"speaks API {client}: anything there that talks to this daemon directly (docker -H, DOCKER_HOST, "
            "community.docker modules with docker_host) is refused.",
            "Upgrade the Docker client on the outer level to a release that speaks this API (docker CLI 25 or later "
            f"for {ENGINE_29_MIN_API}), or start this daemon with DOCKER_MIN_API_VERSION={client}, or pin the inner "
            "Docker Engine below 29.",
        )
    ]


def analyze(
    inputs: Inputs,
    mounts: list[MountInfo],
    cgroup_version: str | None,
    runtime: str,
    in_container: bool,
    apparmor: dict[str, t.Any],
    docker: dict[str, t.Any] | None = None,
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Run every check; return (findings, not_run). ``docker`` is ``parse_docker_version``'s result."""
    findings: list[dict[str, str]] = []
    not_run: list[dict[str, str]] = []
    version = systemd_version(inputs.systemd_libraries)
    if version is None:
        not_run.append({"id": "systemd-cgroup-v1", "reason": "no libsystemd-shared-<version>.so below fs_root."})
    findings += check_systemd(version, cgroup_version)
    if inputs.inotify_instances is None and inputs.inotify_watches is None:
        not_run.append({"id": "inotify-limits", "reason": "proc/sys/fs/inotify/max_user_* could not be read."})
    findings += check_inotify(inputs.inotify_instances, inputs.inotify_watches)
    if not uplinks(inputs.route, inputs.interface_mtus)[0]:
        not_run.append({"id": "mtu", "reason": "neither a default route in net/route nor an uplink in sys/class/net."})
    findings += check_mtu(inputs.route, inputs.interface_mtus, inputs.daemon_json)
    if inputs.modules is None:
        not_run.append({"id": "iptables-modules", "reason": "proc/modules could not be read."})
    findings += check_iptables(
        inputs.ip_tables_names, inputs.modules, inputs.sys_modules, inputs.iptables_alternative, in_container
    )
    findings += check_storage(mounts, in_container, inputs.containerd_snapshots)
    findings += check_lxc_apparmor(runtime, apparmor)
    findings += check_docker_api(docker)
    return findings, not_run


def gather_inputs(
    proc_root: str, sys_root: str, fs_root: str, pid: str = "self", reader: Reader | None = None
) -> Inputs:
    """Read what the checks need; missing files are ``None`` (the checks report them in ``not_run``)."""
    reader = reader or Reader()
    libraries = sorted(
        path for pattern in _SYSTEMD_GLOBS for path in glob.glob(os.path.join(fs_root, pattern))
    )
    route = reader.text(proc_root, pid, "net", "route").text
    try:
        interfaces = sorted(os.listdir(os.path.join(sys_root, "class", "net")))
    except OSError:
        interfaces = []
    mtus: dict[str, str | None] = {
        name: reader.text(sys_root, "class", "net", name, "mtu").text for name in interfaces
    }
    try:
        sys_modules: list[str] | None = sorted(os.listdir(os.path.join(sys_root, "module")))
    except OSError:
        sys_modules = None
    alternative = reader.link(fs_root, "etc", "alternatives", "iptables").text
    try:
        snapshots: list[str] | None = sorted(
            os.listdir(
                os.path.join(fs_root, "var", "lib", "containerd", "io.containerd.snapshotter.v1.overlayfs", "snapshots")
            )
        )
    except OSError:
        snapshots = None
    return Inputs(
        systemd_libraries=libraries,
        inotify_instances=reader.text(proc_root, "sys", "fs", "inotify", "max_user_instances").text,
        inotify_watches=reader.text(proc_root, "sys", "fs", "inotify", "max_user_watches").text,
        route=route,
        interface_mtus=mtus,
        daemon_json=reader.text(fs_root, "etc", "docker", "daemon.json").text,
        ip_tables_names=reader.text(proc_root, pid, "net", "ip_tables_names").text,
        modules=reader.text(proc_root, "modules").text,
        sys_modules=sys_modules,
        iptables_alternative=alternative,
        containerd_snapshots=snapshots,
    )
