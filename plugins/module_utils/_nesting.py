# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container detection, privilege analysis, nesting verdict, risks and run flags (pure, typed)."""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils import _apparmor, _cgroup, _findings
from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    CAPABILITY_NAMES,
    MountInfo,
    all_capabilities,
    decode_capabilities,
    parse_environ,
    parse_id_map,
    parse_mountinfo,
    parse_status,
    Reader,
    read_mount_table,
)

# Capabilities every supported Docker Engine (20.10 and later) knows: CAP_CHOWN .. CAP_AUDIT_READ.
# Engine 20.10 rejects --cap-drop for CAP_PERFMON, CAP_BPF and CAP_CHECKPOINT_RESTORE ("unknown capability")
# and never grants them with --cap-add ALL, so they must not be dropped for it.
ENGINE_CAPABILITIES_DEFAULT: tuple[str, ...] = CAPABILITY_NAMES[:38]

# Holding all of these with seccomp off makes a container as powerful as the host, whatever else is missing
# (they give mount/namespaces, kernel modules, raw I/O, ptrace, reading any file and network control).
HOST_EQUIVALENT_CAPABILITIES: tuple[str, ...] = (
    "CAP_SYS_ADMIN",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_PTRACE",
    "CAP_DAC_READ_SEARCH",
    "CAP_NET_ADMIN",
)
_VAR_LIB_DOCKER_NOTE = (
    "Give the container a volume at /var/lib/docker: on the container's own overlay root the inner dockerd "
    "cannot use overlay2 and falls back to the slow vfs driver."
)
IDENTITY_MAP = [[0, 0, 4294967295]]
SECCOMP_MODES = {"0": "disabled", "1": "strict", "2": "filter"}
_DOCKER_ID = re.compile(r"(?:^|/)(?:docker[-/])([0-9a-f]{12,64})")
_CONTAINER_HOSTNAME = re.compile(r"/containers/[0-9a-f]{64}/hostname$")
_PODMAN_HOSTNAME = re.compile(r"/overlay-containers/[0-9a-f]{64}/userdata/hostname$")
_KNOWN_CONTAINER_ENV = {
    "docker": "docker",
    "podman": "podman",
    "oci": "unknown",
    "lxc": "lxc",
    "lxc-libvirt": "lxc",
    "systemd-nspawn": "systemd-nspawn",
}


class Inputs(t.NamedTuple):
    """Everything ``analyze`` needs, already read (``None`` = missing or unreadable)."""

    status: str | None
    cap_last_cap: str | None
    osrelease: str | None
    init_environ: str | None
    uid_map: str | None
    mountinfo: str | None
    cgroup: str | None
    dockerenv: bool
    containerenv: bool
    selinux_enforce: str | None
    attr_current: str | None
    cgroup_result: dict[str, t.Any]
    apparmor_result: dict[str, t.Any]
    findings_inputs: _findings.Inputs | None = None


NO_FINDINGS_INPUTS = _findings.Inputs([], None, None, None, {}, None, None, None, None, None, None)


def _cap_list(status: dict[str, str], key: str) -> list[str] | None:
    value = status.get(key)
    if value is None:
        return None
    try:
        return decode_capabilities(value)
    except ValueError:
        return None


def analyze_capabilities(
    status_text: str | None, last_cap_text: str | None
) -> dict[str, t.Any]:
    """Decode effective/bounding sets and list what the bounding set lacks."""
    status = parse_status(status_text) if status_text is not None else {}
    effective = _cap_list(status, "CapEff")
    bounding = _cap_list(status, "CapBnd")
    last_cap: int | None = None
    if last_cap_text is not None and last_cap_text.strip().isdigit():
        last_cap = int(last_cap_text.strip())
    missing: list[str] | None = None
    if bounding is not None and last_cap is not None:
        missing = [name for name in all_capabilities(last_cap) if name not in bounding]
    return {
        "effective": effective,
        "bounding": bounding,
        "missing_from_bounding": missing,
        "last_cap": last_cap,
    }


# A root filesystem kept under a Docker data root, whatever the storage driver (root field, source or options).
_DOCKER_ROOTFS = re.compile(
    r"/docker/(?:overlay2?|aufs|btrfs/subvolumes|vfs/dir|zfs/graph|fuse-overlayfs"
    r"|containerd/daemon/io\.containerd\.snapshotter\.v1\.[a-z-]+)/"
)
_DOCKER_DM_SOURCE = re.compile(r"^/dev/mapper/docker-[0-9]+:[0-9]+-[0-9]+-[0-9a-f]{12,64}$")
_DOCKER_ZFS_SOURCE = re.compile(r"(?:^|/)docker/[0-9a-f]{64}(?:-init)?$")
_CONTAINERD_ROOTFS = re.compile(r"/io\.containerd\.snapshotter\.v1\.[a-z-]+/snapshots/")
_CRIO_PATH = re.compile(r"(?:^|/)crio-(?:conmon-)?[0-9a-f]{12,64}(?:\.scope)?(?:/|$)|:crio:[0-9a-f]{12,64}")
_CRI_CONTAINERD_PATH = re.compile(r"cri-containerd[-:][0-9a-f]{12,64}")
_KUBEPODS_DOCKER = re.compile(r"kubepods.*(?:/docker-[0-9a-f]{12,64}\.scope|/[0-9a-f]{64}$)")
_LXCFS_TARGETS = ("/proc/cpuinfo", "/proc/meminfo", "/proc/uptime", "/proc/stat", "/proc/diskstats")
# gVisor's Sentry reports a fixed kernel release: 4.4.0 in older releases, now 4.19.0-gvisor style.
_GVISOR_RELEASE = re.compile(r"^4\.4\.0$|gvisor", re.IGNORECASE)


def _root_mount(mounts: list[MountInfo]) -> MountInfo | None:
    return next((m for m in reversed(mounts) if m["mount_point"] == "/"), None)


def detect_container(
    inputs: Inputs, mounts: list[MountInfo], uid_map: list[list[int]] | None
) -> dict[str, t.Any]:
    """Decide ``in_container``/``container_runtime`` and explain with ``evidence`` sentences.

    Each marker adds one sentence and, when it is strong, a vote; the most specific runtime voted for
    wins (a Kubernetes pod before the engine that runs it, Docker Desktop before Docker). Nothing voted
    for but a user namespace gives ``unknown`` with the evidence found, never a guess.
    """
    evidence: list[str] = []
    votes: list[str] = []

    lines = (
        _cgroup.parse_proc_cgroup(inputs.cgroup) if inputs.cgroup is not None else []
    )
    paths = [line.path for line in lines]
    root_mount = _root_mount(mounts)
    root_text = (
        " ".join([root_mount["root"], root_mount["source"], *root_mount["super_options"]])
        if root_mount is not None
        else ""
    )
    release = (inputs.osrelease or "").strip()

    if any(m["source"] == "sysboxfs" for m in mounts):
        evidence.append(
            "mountinfo shows sysboxfs mounts (Sysbox emulates /proc and /sys files)."
        )
        votes.append("sysbox")

    # Sandboxes that run the container in a VM or a user-space kernel.
    if root_mount is not None and (
        root_mount["source"] == "kataShared"
        or any("/run/kata-containers/" in m["root"] or m["source"].startswith("/run/kata-containers/") for m in mounts)
    ):
        evidence.append(
            f"the root filesystem is {root_mount['fstype']} from {root_mount['source']!r}"
            " or mounts come from /run/kata-containers: a Kata Containers guest."
        )
        votes.append("kata")
    elif root_mount is not None and root_mount["source"] == "none" and root_mount["fstype"] == "virtiofs":
        evidence.append(
            "the root filesystem is virtiofs with source 'none', as Kata Containers shares a container's root."
        )
        votes.append("kata")
    if release and _GVISOR_RELEASE.search(release) and (
        "gvisor" in release.lower()
        or not mounts
        or all(m["source"] == "none" for m in mounts if m["mount_point"] == "/")
    ):
        evidence.append(
            f"the kernel release is {release!r}, the fixed release gVisor's user-space kernel reports."
        )
        votes.append("gvisor")

    if any("kubepods" in path for path in paths):
        cri = (
            "CRI-O" if any(_CRIO_PATH.search(path) for path in paths)
            else "containerd" if any(_CRI_CONTAINERD_PATH.search(path) for path in paths)
            else "Docker (dockershim or cri-dockerd)" if any(_KUBEPODS_DOCKER.search(path) for path in paths)
            else None
        )
        evidence.append(
            "the cgroup path contains 'kubepods' (a Kubernetes pod)"
            + (f"; the container part names {cri}." if cri else ".")
        )
        votes.append("kubernetes")
    elif any(_CRIO_PATH.search(path) for path in paths):
        evidence.append("the cgroup path names a CRI-O container (crio-<id>).")
        votes.append("kubernetes")
    if any(m["mount_point"].endswith("/secrets/kubernetes.io/serviceaccount") for m in mounts):
        evidence.append("a Kubernetes service account token is mounted (secrets/kubernetes.io/serviceaccount).")
        votes.append("kubernetes")
    if any("/var/lib/kubelet/pods/" in m["root"] for m in mounts):
        evidence.append("files are bind-mounted from /var/lib/kubelet/pods/<pod uid>/ (a kubelet's pod directory).")
        votes.append("kubernetes")

    env = parse_environ(inputs.init_environ) if inputs.init_environ is not None else {}
    container_env = env.get("container")
    if container_env:
        evidence.append(f"PID 1 has container={container_env} in its environment.")
        votes.append(_KNOWN_CONTAINER_ENV.get(container_env, "unknown"))

    podman = False
    if any(re.search(r"(^|/)libpod[-_]", path) for path in paths):
        evidence.append("the cgroup path names a Podman container (libpod-<id>).")
        podman = True
    if inputs.containerenv:
        evidence.append("/run/.containerenv exists (created by Podman).")
        podman = True
    if any(
        _PODMAN_HOSTNAME.search(m["root"])
        for m in mounts
        if m["mount_point"] in ("/etc/hostname", "/run/.containerenv")
    ):
        evidence.append(
            "/etc/hostname is bind-mounted from Podman's container storage."
        )
        podman = True
    if root_mount is not None and "/containers/storage/overlay/" in root_text:
        evidence.append("the root filesystem's layers live under containers/storage (Podman or CRI-O).")
        podman = podman or not any("kubepods" in path or _CRIO_PATH.search(path) for path in paths)
    if podman:
        votes.append("podman")
        rootless_path = next(
            (path for path in paths if re.search(r"/user@\d+\.service/.*libpod-", path)), None
        )
        if rootless_path is not None:
            evidence.append(
                "the libpod cgroup lies below a user@<uid>.service (a systemd user manager): rootless Podman."
            )
        elif uid_map is not None:
            evidence.append(
                "uid_map is the identity map: rootful Podman."
                if uid_map == IDENTITY_MAP
                else "uid_map is not the identity map: rootless Podman (or --userns)."
            )

    docker_strong = False
    if any(_DOCKER_ID.search(path) for path in paths):
        evidence.append(
            "the cgroup path names a Docker container (docker/<id> or docker-<id>.scope)."
        )
        docker_strong = True
    if any(
        _CONTAINER_HOSTNAME.search(m["root"])
        for m in mounts
        if m["mount_point"] == "/etc/hostname"
    ):
        evidence.append(
            "/etc/hostname is bind-mounted from a Docker container directory (containers/<id>/hostname)."
        )
        docker_strong = True
    if root_mount is not None and (
        _DOCKER_ROOTFS.search(root_text)
        or _DOCKER_DM_SOURCE.match(root_mount["source"])
        or (root_mount["fstype"] == "zfs" and _DOCKER_ZFS_SOURCE.search(root_mount["source"]))
    ):
        evidence.append(
            "the root filesystem is an overlay whose layers live under a Docker data root."
            if root_mount["fstype"] == "overlay" and "/docker/overlay" in root_text
            else f"the root filesystem ({root_mount['fstype']}) lives under a Docker data root "
            "(a Docker storage driver's or the containerd image store's directory)."
        )
        docker_strong = True
    elif root_mount is not None and _CONTAINERD_ROOTFS.search(root_text):
        evidence.append(
            f"the root filesystem ({root_mount['fstype']}) is a containerd snapshot outside a Docker data root."
        )
        votes.append("containerd")
    apparmor_current = (inputs.apparmor_result or {}).get("current") or {}
    if apparmor_current.get("profile") == "docker-default":
        evidence.append(
            "the process is confined by the AppArmor profile docker-default, which dockerd applies to containers."
        )
        docker_strong = True
    if inputs.dockerenv:
        if docker_strong:
            evidence.append("/.dockerenv exists.")
        else:
            evidence.append(
                "/.dockerenv exists but nothing else points to Docker; a root filesystem made with 'docker export' "
                "keeps that file, so it is not counted."
            )
    wsl = bool(re.search(r"microsoft|wsl", release, re.IGNORECASE))
    linuxkit = "linuxkit" in release.lower()
    if docker_strong:
        if wsl or linuxkit:
            evidence.append(
                f"the kernel release {release!r} is Docker Desktop's VM kernel ({'WSL 2' if wsl else 'LinuxKit'})."
            )
            votes.append("docker-desktop")
        votes.append("docker")

    lxc_paths = any(re.search(r"(^|/)lxc(\.payload)?[/.]", path) for path in paths)
    if lxc_paths:
        evidence.append(
            "the cgroup path contains an LXC container (lxc/ or lxc.payload.)."
        )
        votes.append("lxc")
    lxcfs = [m["mount_point"] for m in mounts if m["fstype"] == "fuse.lxcfs" or m["source"] == "lxcfs"]
    if lxcfs:
        evidence.append(f"lxcfs is mounted over {', '.join(lxcfs[:3])}{' ...' if len(lxcfs) > 3 else ''} (LXC, LXD, Incus).")
        votes.append("lxc")
    for marker, name in (("/dev/incus", "incus"), ("/dev/lxd", "lxd")):
        if any(m["mount_point"] == marker for m in mounts):
            evidence.append(f"{marker} is mounted: the guest API of {'Incus' if name == 'incus' else 'LXD'}.")
            votes.append(name)
    if root_mount is not None and re.search(r"(^|/)lxc/[^/]+/rootfs$", root_mount["root"]):
        evidence.append(f"the root filesystem is {root_mount['root']!r}, an LXC container's rootfs directory.")
        votes.append("lxc")
    elif root_mount is not None and (lxc_paths or lxcfs) and re.search(
        r"(^|/)(lxd/)?containers/[^/]+$|storage-pools/[^/]+/containers/[^/]+", root_mount["source"] + " " + root_mount["root"]
    ):
        evidence.append(f"the root filesystem comes from {root_mount['source']!r}, an LXD/Incus container's volume.")
    if (
        any(re.search(r"machine\.slice/machine-", path) for path in paths)
        and container_env is None
    ):
        evidence.append(
            "the cgroup path lies under machine.slice (a systemd-nspawn or libvirt machine)."
        )
        votes.append("systemd-nspawn")
    if wsl and not docker_strong:
        evidence.append(f"the kernel release {release!r} is a WSL kernel.")
        votes.append("wsl")
    elif linuxkit and not docker_strong:
        evidence.append(f"the kernel release {release!r} is a LinuxKit kernel (Docker Desktop's VM).")

    if uid_map is not None:
        identity = uid_map == IDENTITY_MAP
        if not identity:
            evidence.append(
                f"uid_map {uid_map} is not the identity map: a user namespace is active."
            )
            votes.append("unknown")

    order = (
        "sysbox",
        "kata",
        "gvisor",
        "kubernetes",
        "podman",
        "incus",
        "lxd",
        "lxc",
        "systemd-nspawn",
        "docker-desktop",
        "docker",
        "containerd",
        "wsl",
        "unknown",
    )
    runtime = next((name for name in order if name in votes), "none")
    if runtime == "none":
        evidence.append(
            "no container marker was found (cgroup paths, mounts, PID 1 environment, uid_map)."
        )
    return {
        "in_container": runtime != "none",
        "container_runtime": runtime,
        "evidence": evidence,
    }


def normalize_capabilities(
    names: t.Sequence[str] | None,
) -> tuple[tuple[str, ...], str | None]:
    """Turn ``engine_capabilities`` into ``CAP_*`` names; return (names, error message or None)."""
    if names is None:
        return ENGINE_CAPABILITIES_DEFAULT, None
    result: list[str] = []
    for name in names:
        full = name.strip().upper()
        full = full if full.startswith("CAP_") else f"CAP_{full}"
        if full not in CAPABILITY_NAMES:
            return (), (
                f"engine_capabilities holds {name!r}, which is not a Linux capability; use names such as "
                "SYS_ADMIN or CAP_SYS_ADMIN."
            )
        result.append(full)
    return tuple(result), None


def _confined(
    apparmor: dict[str, t.Any], selinux_enforce: str | None, current_label: str | None
) -> bool:
    current = apparmor.get("current") or {}
    if apparmor.get("available") and current.get("profile") not in (None, "unconfined"):
        return True
    if selinux_enforce is not None and selinux_enforce.strip() == "1" and current_label:
        label = current_label.strip()
        return not any(
            word in label
            for word in ("unconfined_t", "spc_t", "kernel_t", "unconfined")
        )
    return False


def recommend(
    capabilities: dict[str, t.Any],
    cgroup_version: str | None,
    engine_capabilities: t.Sequence[str] = ENGINE_CAPABILITIES_DEFAULT,
) -> tuple[str, list[str], dict[str, t.Any], list[str]]:
    """Return (profile, run flags, docker_container options, notes) for containers started from here."""
    notes: list[str] = []
    bounding = capabilities["bounding"]
    missing = capabilities["missing_from_bounding"]
    if bounding is None:
        return (
            "none",
            [],
            {},
            ["The bounding set could not be read, so no flags are recommended."],
        )
    if "CAP_SYS_ADMIN" not in bounding:
        return (
            "none",
            [],
            {},
            [
                "CAP_SYS_ADMIN is not in the bounding set; containers started from here cannot run Docker."
            ],
        )
    if missing is None:
        notes.append(
            "cap_last_cap could not be read; the bounding set is compared with the capabilities this module knows."
        )
        missing = [name for name in CAPABILITY_NAMES if name not in bounding]
    v2 = cgroup_version == "v2"
    cgroup_flags = (
        ["--cgroupns=private"]
        if v2
        else ["--cgroupns=host", "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw"]
    )
    options: dict[str, t.Any] = {
        "cgroupns_mode": "private" if v2 else "host",
        "volumes": [] if v2 else ["/sys/fs/cgroup:/sys/fs/cgroup:rw"],
    }
    if not missing:
        options.update(
            privileged=True,
            capabilities=[],
            cap_drop=[],
            security_opts=[],
            device_cgroup_rules=[],
            unmask_system_paths=False,
        )
        notes.append(_VAR_LIB_DOCKER_NOTE)
        return "privileged", ["--privileged", *cgroup_flags], options, notes
    drop = [name[len("CAP_") :] for name in missing if name in engine_capabilities]
    unknown = [name for name in missing if name not in engine_capabilities]
    if unknown:
        notes.append(
            f"{', '.join(unknown)} (missing from the bounding set) are not dropped: the engine does not know "
            "them, so --cap-add=ALL does not grant them either (list them in engine_capabilities for a newer engine)."
        )
    flags = ["--cap-add=ALL"]
    flags += [f"--cap-drop={name}" for name in drop]
    flags += [
        "--security-opt=seccomp=unconfined",
        "--security-opt=apparmor=unconfined",
        "--security-opt=systempaths=unconfined",
        "--device-cgroup-rule=a *:* rwm",
        *cgroup_flags,
    ]
    options.update(
        privileged=False,
        capabilities=["ALL"],
        cap_drop=drop,
        security_opts=["seccomp=unconfined", "apparmor=unconfined"],
        device_cgroup_rules=["a *:* rwm"],
        unmask_system_paths=True,
    )
    notes.append(_VAR_LIB_DOCKER_NOTE)
    notes.append(
        f"--privileged would fail here because the bounding set lacks {', '.join(missing)}; "
        "the privileged-equivalent flags grant everything else."
    )
    return "privileged-equivalent", flags, options, notes


class Detection(t.NamedTuple):
    """The ``detect`` stage: what the files say about where this process runs."""

    mounts: list[MountInfo]
    uid_map: list[list[int]] | None
    container: dict[str, t.Any]  # in_container, container_runtime, evidence
    cgroup: dict[str, t.Any]  # the cgroup_info result, cgroupns inferred inside a container where unknown
    docker_socket: bool | None  # None when the mount table is missing


class Privilege(t.NamedTuple):
    """The ``privilege`` stage: capabilities, seccomp, user namespace, LSM confinement."""

    capabilities: dict[str, t.Any]  # analyze_capabilities(); missing_from_bounding as read (None unread)
    missing: list[str] | None  # what the verdict compares with (all known names when cap_last_cap is unread)
    seccomp: str | None
    no_new_privs: bool | None
    userns_active: bool
    privileged: bool | None
    privileged_equivalent: bool | None
    confined: bool
    evidence: list[str]  # sentences appended to the detection's evidence


class Risks(t.NamedTuple):
    """The ``assess_risks`` stage: why Docker cannot nest here (one stable id per reason) and the risks."""

    reasons: list[str]
    reason_ids: list[str]
    risks: list[dict[str, str]]


class Recommendation(t.NamedTuple):
    """The ``recommendation`` stage: how to start containers from here that can run Docker."""

    profile: str
    run_flags: list[str]
    container_options: dict[str, t.Any]
    notes: list[str]


def detect(inputs: Inputs) -> Detection:
    """Parse the mount table and uid_map, decide the container runtime, complete the cgroup result."""
    mounts = parse_mountinfo(inputs.mountinfo) if inputs.mountinfo is not None else []
    uid_map = parse_id_map(inputs.uid_map) if inputs.uid_map is not None else None
    container = detect_container(inputs, mounts, uid_map)
    docker_socket = (
        any(os.path.basename(m["mount_point"]) == "docker.sock" for m in mounts)
        if inputs.mountinfo is not None
        else None
    )
    cgroup_result = inputs.cgroup_result
    if container["in_container"] and cgroup_result.get("cgroupns") == "unknown":
        lines = _cgroup.parse_proc_cgroup(inputs.cgroup) if inputs.cgroup is not None else []
        inferred = _cgroup.infer_cgroupns_in_container(lines, mounts)
        if inferred is not None:
            cgroup_result = {**cgroup_result, "cgroupns": inferred[0], "cgroupns_evidence": inferred[1]}
    return Detection(mounts, uid_map, container, cgroup_result, docker_socket)


def privilege(inputs: Inputs, uid_map: list[list[int]] | None) -> Privilege:
    """Judge ``privileged``/``privileged_equivalent`` from the status file, cap_last_cap and uid_map."""
    status = parse_status(inputs.status) if inputs.status is not None else {}
    caps = analyze_capabilities(inputs.status, inputs.cap_last_cap)
    userns_active = uid_map is not None and uid_map != IDENTITY_MAP
    seccomp = SECCOMP_MODES.get(status.get("Seccomp", ""), None)
    no_new_privs = None if "NoNewPrivs" not in status else status["NoNewPrivs"] == "1"
    effective, bounding, missing = caps["effective"], caps["bounding"], caps["missing_from_bounding"]
    evidence: list[str] = []
    privileged: bool | None = None
    privileged_equivalent: bool | None = None
    if missing is None and bounding is not None:
        # The same assumption recommend() makes: compare with every capability this module knows.
        missing = [name for name in CAPABILITY_NAMES if name not in bounding]
        evidence.append(
            f"cap_last_cap could not be read; privileged is judged against the {len(CAPABILITY_NAMES)} capabilities "
            f"this module knows (CAP_CHOWN .. {CAPABILITY_NAMES[-1]})."
        )
    if effective is not None and bounding is not None and missing is not None and seccomp is not None:
        # Capabilities held inside a user namespace do not reach the host: not privileged.
        host_caps = not userns_active
        everything_allowed = set(effective) >= set(bounding)
        privileged = host_caps and not missing and everything_allowed and seccomp == "disabled"
        privileged_equivalent = (
            host_caps
            and everything_allowed
            and seccomp == "disabled"
            and set(HOST_EQUIVALENT_CAPABILITIES) <= set(bounding)
        )
    confined = _confined(inputs.apparmor_result, inputs.selinux_enforce, inputs.attr_current)
    return Privilege(
        caps, missing, seccomp, no_new_privs, userns_active, privileged, privileged_equivalent, confined, evidence
    )


def assess_risks(
    detection: Detection, priv: Privilege, apparmor_result: dict[str, t.Any]
) -> Risks:
    """List what stops a nested dockerd (``reasons``, after the cgroup ones) and the ``risks`` of this place."""
    container, cgroup_result, uid_map = detection.container, detection.cgroup, detection.uid_map
    effective = priv.capabilities["effective"]
    # Each reason has a stable id (reason_ids, same order): code and users match ids, never the text.
    reasons: list[str] = list(cgroup_result.get("reasons") or [])
    reason_ids: list[str] = list(cgroup_result.get("reason_ids") or [])
    reason_ids += ["cgroup"] * (len(reasons) - len(reason_ids))

    def reason(reason_id: str, message: str) -> None:
        reason_ids.append(reason_id)
        reasons.append(message)

    if effective is None:
        reason("capabilities-unreadable", "The effective capability set could not be read.")
    elif "CAP_SYS_ADMIN" not in effective:
        reason(
            "no-cap-sys-admin",
            "CAP_SYS_ADMIN is not in the effective set; dockerd cannot mount filesystems or create namespaces."
        )
    if priv.seccomp == "filter":
        reason(
            "seccomp-filter",
            "A seccomp filter is active; the default Docker profile blocks mount and unshare, which dockerd needs."
        )
    current = apparmor_result.get("current") or {}
    if apparmor_result.get("available") and current.get("profile") not in (None, "unconfined"):
        reason(
            "apparmor-confined",
            f"The process is confined by AppArmor profile {current['profile']!r}, which usually denies mount."
        )
    if priv.userns_active and container["container_runtime"] != "sysbox":
        reason(
            "userns-active",
            f"A user namespace is active (uid_map {uid_map}): capabilities hold only inside it, so a nested dockerd "
            "needs rootless mode or a runtime built for this such as Sysbox."
        )
    if container["container_runtime"] == "sysbox":
        # Sysbox virtualises /proc, /sys and cgroups so that unprivileged system containers can run Docker.
        kept = [i for i, reason_id in enumerate(reason_ids) if reason_id != "no-cap-sys-admin"]
        reasons = [reasons[i] for i in kept]
        reason_ids = [reason_ids[i] for i in kept]

    risks: list[dict[str, str]] = []
    if container["in_container"]:
        if priv.privileged:
            risks.append(
                {
                    "id": "privileged",
                    "severity": "high",
                    "message": "The container holds every capability with seccomp off: root in it is root on the host.",
                }
            )
        elif priv.privileged_equivalent:
            risks.append(
                {
                    "id": "privileged",
                    "severity": "high",
                    "message": "The container holds every capability the bounding set allows with seccomp off (privileged-equivalent).",
                }
            )
        if not priv.confined:
            risks.append(
                {
                    "id": "no-lsm",
                    "severity": "medium",
                    "message": "No AppArmor or SELinux confinement applies to this process.",
                }
            )
        v1 = cgroup_result.get("cgroup_version") in ("v1", "hybrid")
        has_admin = effective is not None and "CAP_SYS_ADMIN" in effective
        identity_userns = uid_map is None or uid_map == IDENTITY_MAP
        if v1 and has_admin and not priv.confined and priv.seccomp == "disabled" and identity_userns:
            risks.append(
                {
                    "id": "cgroup-v1-release-agent",
                    "severity": "high",
                    "message": "cgroup v1 with CAP_SYS_ADMIN, no LSM confinement and seccomp off: a v1 release_agent can run "
                    "commands on the host (CVE-2022-0492 conditions).",
                }
            )
    if detection.docker_socket:
        risks.append(
            {
                "id": "docker-socket-mounted",
                "severity": "high",
                "message": "A docker.sock is bind-mounted: whoever can reach it controls the outer Docker daemon.",
            }
        )
    return Risks(reasons, reason_ids, risks)


def recommendation(
    detection: Detection,
    priv: Privilege,
    engine_capabilities: t.Sequence[str] = ENGINE_CAPABILITIES_DEFAULT,
) -> Recommendation:
    """``recommend`` for this place; nothing to recommend inside a user namespace (except under Sysbox)."""
    if priv.userns_active and detection.container["container_runtime"] != "sysbox":
        return Recommendation(
            "none",
            [],
            {},
            ["A user namespace is active: containers started from here cannot be given host privileges."],
        )
    profile, flags, options, notes = recommend(
        priv.capabilities, detection.cgroup.get("cgroup_version"), engine_capabilities
    )
    return Recommendation(profile, flags, options, notes)


def analyze(
    inputs: Inputs,
    engine_capabilities: t.Sequence[str] = ENGINE_CAPABILITIES_DEFAULT,
    docker_version: t.Any = None,
) -> dict[str, t.Any]:
    """Compute the ``nesting_facts`` result (``docker_version``: the module option, see ``_findings``).

    The stages: ``detect`` -> ``privilege`` -> ``assess_risks`` and ``recommendation``; the findings of
    ``_findings`` run beside them.
    """
    detection = detect(inputs)
    priv = privilege(inputs, detection.uid_map)
    risks = assess_risks(detection, priv, inputs.apparmor_result)
    advice = recommendation(detection, priv, engine_capabilities)
    container, cgroup_result = detection.container, detection.cgroup
    docker = _findings.parse_docker_version(docker_version)
    findings, checks_not_run = _findings.analyze(
        inputs.findings_inputs or NO_FINDINGS_INPUTS,
        detection.mounts,
        cgroup_result.get("cgroup_version"),
        container["container_runtime"],
        container["in_container"],
        inputs.apparmor_result,
        docker,
    )
    uid_map = detection.uid_map
    return {
        **container,
        "evidence": container["evidence"] + priv.evidence,
        "capabilities": {
            key: priv.capabilities[key] for key in ("effective", "bounding", "missing_from_bounding")
        },
        "privileged": priv.privileged,
        "privileged_equivalent": priv.privileged_equivalent,
        "seccomp": priv.seccomp,
        "no_new_privs": priv.no_new_privs,
        "userns": {
            "active": None if uid_map is None else uid_map != IDENTITY_MAP,
            "uid_map": uid_map,
        },
        "docker_socket_mounted": detection.docker_socket,
        "cgroup": cgroup_result,
        "apparmor": inputs.apparmor_result,
        "can_nest_docker": not risks.reasons,
        "reasons": risks.reasons,
        "reason_ids": risks.reason_ids,
        "risks": risks.risks,
        "findings": findings,
        "checks_not_run": checks_not_run,
        "docker": docker,
        "profile": advice.profile,
        "recommended_run_flags": advice.run_flags,
        "recommended_container_options": advice.container_options,
        "recommendation_notes": advice.notes,
    }


def gather(
    proc_root: str,
    sys_root: str,
    pid: str = "self",
    fs_root: str = "/",
    engine_capabilities: t.Sequence[str] = ENGINE_CAPABILITIES_DEFAULT,
    docker_version: t.Any = None,
) -> tuple[dict[str, t.Any], list[str]]:
    """Read every input below the roots and return (result, warnings)."""
    warnings: list[str] = []
    reader = Reader()  # one per run: the stages below never read a file twice
    cgroup_result, cgroup_warnings = _cgroup.gather(proc_root, sys_root, pid, reader)
    apparmor_result, apparmor_warnings = _apparmor.gather(proc_root, sys_root, pid, reader)
    warnings += cgroup_warnings + apparmor_warnings

    def read(root: str, *parts: str, warn: bool = True) -> str | None:
        item = reader.text(root, *parts)
        if item.warning and warn and item.warning not in warnings:
            warnings.append(item.warning)
        return item.text

    inputs = Inputs(
        status=read(proc_root, pid, "status"),
        cap_last_cap=read(proc_root, "sys", "kernel", "cap_last_cap"),
        osrelease=read(proc_root, "sys", "kernel", "osrelease"),
        init_environ=read(proc_root, "1", "environ"),
        uid_map=read(proc_root, pid, "uid_map"),
        mountinfo=read_mount_table(proc_root, pid, reader).text,
        cgroup=read(proc_root, pid, "cgroup", warn=False),
        dockerenv=os.path.exists(os.path.join(fs_root, ".dockerenv")),
        containerenv=os.path.exists(os.path.join(fs_root, "run", ".containerenv")),
        selinux_enforce=read(sys_root, "fs", "selinux", "enforce", warn=False),
        attr_current=read(proc_root, pid, "attr", "current", warn=False),
        cgroup_result=cgroup_result,
        apparmor_result=apparmor_result,
        findings_inputs=_findings.gather_inputs(proc_root, sys_root, fs_root, pid, reader),
    )
    return analyze(inputs, engine_capabilities, docker_version), warnings
