# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cgroup v1 / v2 / hybrid analysis for nested container hosts (pure, typed)."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    MountInfo,
    Reader,
    parse_mountinfo,
    read_mount_table,
    sys_path_for,
)

# The inode of the initial cgroup namespace (PROC_CGROUP_INIT_INO in include/linux/proc_ns.h).
INIT_CGROUP_NS = "cgroup:[4026531835]"

# Controllers a nested dockerd/runc needs mounted on cgroup v1, and enabled on v2.
REQUIRED_V1 = ("cpu", "cpuacct", "devices", "freezer", "memory", "pids")
REQUIRED_V2 = ("memory", "pids")


class CgroupLine(t.NamedTuple):
    """One line of ``/proc/<pid>/cgroup``."""

    hierarchy_id: int
    controllers: list[str]
    path: str


def parse_proc_cgroup(text: str) -> list[CgroupLine]:
    """Parse ``/proc/<pid>/cgroup``; a path may itself contain ``:``."""
    lines: list[CgroupLine] = []
    for raw in text.splitlines():
        parts = raw.split(":", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        controllers = [name for name in parts[1].split(",") if name]
        lines.append(CgroupLine(int(parts[0]), controllers, parts[2]))
    return lines


def _mount_for(controllers: list[str], mounts: list[MountInfo]) -> MountInfo | None:
    wanted = set(controllers)
    for mount in mounts:
        if mount["fstype"] == "cgroup" and wanted <= set(mount["super_options"]):
            return mount
    return None


def _cgroup2_mounts(mounts: list[MountInfo]) -> list[MountInfo]:
    return [mount for mount in mounts if mount["fstype"] == "cgroup2"]


def _words(text: str | None) -> list[str] | None:
    return None if text is None else text.split()


def detect_version(lines: list[CgroupLine], mounts: list[MountInfo]) -> str | None:
    """Return ``v1``, ``v2`` or ``hybrid`` as the process sees it; ``None`` when nothing is known.

    Where mountinfo shows cgroup mounts, they decide: the kernel prints the ``0::`` line of
    ``/proc/<pid>/cgroup`` once cgroup2 is mounted anywhere on the machine, but a container on a
    hybrid host that has no cgroup2 mount in its own mount namespace is ``v1`` for any runtime in it.
    """
    if any(m["fstype"] in ("cgroup", "cgroup2") for m in mounts):
        has_v1 = any(m["fstype"] == "cgroup" for m in mounts)
        has_v2 = bool(_cgroup2_mounts(mounts))
    else:
        has_v1 = any(line.hierarchy_id != 0 for line in lines)
        has_v2 = any(line.hierarchy_id == 0 for line in lines)
    if has_v1 and has_v2:
        return "hybrid"
    if has_v1:
        return "v1"
    if has_v2:
        return "v2"
    return None


def detect_cgroupns(
    ns_link: str | None, lines: list[CgroupLine], mounts: list[MountInfo]
) -> tuple[str, str]:
    """Return (``private``/``host``/``unknown``, one sentence of evidence)."""
    if ns_link is not None:
        if ns_link == INIT_CGROUP_NS:
            return "host", f"ns/cgroup is {ns_link}, the initial cgroup namespace."
        if ns_link.startswith("cgroup:["):
            return (
                "private",
                f"ns/cgroup is {ns_link}, not the initial cgroup namespace {INIT_CGROUP_NS}.",
            )
    for line in lines:
        if line.path.startswith("/.."):
            return (
                "private",
                f"cgroup path {line.path!r} lies above the namespace root, so a cgroup namespace is in use.",
            )
    for line in lines:
        if line.hierarchy_id:
            mount = _mount_for(line.controllers, mounts)
        else:
            mount = next(iter(_cgroup2_mounts(mounts)), None)
        if mount is not None and line.path != "/" and mount["root"] == line.path:
            return (
                "host",
                (
                    f"the process sees its full cgroup path {line.path!r}, which is also the root of the "
                    f"{mount['mount_point']} mount: the host's cgroup tree is visible."
                ),
            )
    for mount in mounts:
        if mount["fstype"] in ("cgroup", "cgroup2") and mount["root"].startswith("/.."):
            return (
                "private",
                (
                    f"the root of the {mount['mount_point']} mount is {mount['root']!r}, above the namespace root, "
                    "so a cgroup namespace is in use."
                ),
            )
    return (
        "unknown",
        "ns/cgroup could not be read and the cgroup paths do not show which namespace is used.",
    )


def infer_cgroupns_in_container(
    lines: list[CgroupLine], mounts: list[MountInfo]
) -> tuple[str, str] | None:
    """For a process known to run in a container: (``private``, evidence) when every cgroup path it
    sees is ``/`` (as kind's entrypoint tests), and the cgroup mounts, if shown, are rooted at ``/``.

    A container sharing the host's cgroup namespace sees its own ``/docker/<id>``-like path instead.
    """
    if not lines or any(line.path != "/" for line in lines):
        return None
    cgroup_mounts = [m for m in mounts if m["fstype"] in ("cgroup", "cgroup2")]
    if any(m["root"] != "/" for m in cgroup_mounts):
        return None
    how = "every line of the process's cgroup file is '/'"
    if cgroup_mounts:
        how += " and every cgroup mount in mountinfo has root '/'"
    return (
        "private",
        f"ns/cgroup could not be read; {how}, which inside a container means a private cgroup namespace "
        "(with the host's namespace the container's own cgroup path would show).",
    )


def analyze(
    cgroup_text: str | None,
    mountinfo_text: str | None,
    ns_link: str | None,
    v2_files: dict[str, str | None] | None,
    sys_version: str | None = None,
    sys_v2_mountpoint: str | None = None,
) -> dict[str, t.Any]:
    """Compute the ``cgroup_info`` result from already-read texts.

    ``v2_files`` holds the texts of ``cgroup.controllers``, ``cgroup.subtree_control`` and
    ``cgroup.procs`` of the visible cgroup2 root (``None`` values when unreadable).
    ``sys_version`` is the version read from the layout of ``sys/fs/cgroup`` alone
    (see ``version_from_sys``); it is used only when neither the cgroup file nor mountinfo is there, and then
    ``sys_v2_mountpoint`` names where that layout puts cgroup2 (``v2_files`` read there).
    """
    lines = parse_proc_cgroup(cgroup_text) if cgroup_text is not None else []
    mounts = parse_mountinfo(mountinfo_text) if mountinfo_text is not None else []
    version = (
        detect_version(lines, mounts)
        if (cgroup_text is not None or mountinfo_text is not None)
        else sys_version
    )
    v2_mounts = _cgroup2_mounts(mounts)
    v2_mount = v2_mounts[0] if v2_mounts else None
    v2_mountpoint = v2_mount["mount_point"] if v2_mount is not None else (sys_v2_mountpoint if sys_version else None)
    v2_path = next((line.path for line in lines if line.hierarchy_id == 0), None)

    controllers: dict[str, dict[str, t.Any]] = {}
    for line in lines:
        if line.hierarchy_id == 0:
            continue
        mount = _mount_for(line.controllers, mounts)
        for name in line.controllers:
            controllers[name] = {
                "version": "v1",
                "hierarchy_id": line.hierarchy_id,
                "path": line.path,
                "mountpoint": mount["mount_point"] if mount else None,
            }

    delegation: dict[str, t.Any] | None = None
    if version in ("v2", "hybrid") and v2_mountpoint is not None and v2_files is not None:
        available = _words(v2_files.get("cgroup.controllers"))
        enabled = _words(v2_files.get("cgroup.subtree_control"))
        procs = _words(v2_files.get("cgroup.procs"))
        for name in available or []:
            controllers.setdefault(
                name,
                {
                    "version": "v2",
                    "hierarchy_id": 0,
                    "path": v2_path,
                    "mountpoint": v2_mountpoint,
                },
            )
        delegation = {
            "mountpoint": v2_mountpoint,
            "available": available,
            "subtree_control": enabled,
            "root_has_processes": None if procs is None else bool(procs),
        }

    devices_own: bool | None = None
    if version in ("v1", "hybrid"):
        devices_line = next(
            (
                line
                for line in lines
                if "devices" in line.controllers and line.hierarchy_id
            ),
            None,
        )
        if devices_line is not None:
            devices_own = devices_line.controllers == ["devices"]

    cgroupns, evidence = detect_cgroupns(ns_link, lines, mounts)

    creation_mounts = (
        [m for m in mounts if m["fstype"] == "cgroup"]
        if version in ("v1", "hybrid")
        else v2_mounts
    )
    writable: bool | None = None
    if creation_mounts:
        writable = all(
            "rw" in m["mount_options"] and "rw" in m["super_options"]
            for m in creation_mounts
        )
    elif mountinfo_text is not None:
        writable = False

    reasons: list[str] = []
    reason_ids: list[str] = []

    def reason(reason_id: str, message: str) -> None:
        reason_ids.append(reason_id)
        reasons.append(message)

    if cgroup_text is None:
        reason(
            "cgroup-file-unreadable",
            "The process's cgroup file could not be read, so cgroup nesting cannot be judged."
        )
    if mountinfo_text is None:
        reason(
            "mountinfo-unreadable",
            "mountinfo could not be read, so cgroup mounts cannot be judged."
        )
    if mountinfo_text is not None and not creation_mounts:
        reason(
            "cgroup-not-mounted",
            "No cgroup filesystem is mounted in this mount namespace; a nested runtime has nowhere to create cgroups."
        )
    read_only = [
        m["mount_point"]
        for m in creation_mounts
        if "ro" in m["mount_options"] or "ro" in m["super_options"]
    ]
    if read_only:
        reason(
            "cgroup-read-only",
            f"The cgroup mounts {', '.join(read_only)} are read-only; a nested runtime cannot create child "
            "cgroups there (mount /sys/fs/cgroup read-write)."
        )
    if devices_own is False:
        reason(
            "devices-controller-shared",
            "The devices controller shares a hierarchy with other controllers, which nested runc cannot manage."
        )
    if version in ("v1", "hybrid") and cgroup_text is not None:
        for name in REQUIRED_V1:
            if name not in controllers:
                reason(
                    "cgroup-v1-controller-unavailable",
                    f"The v1 controller {name} is not available to this process."
                )
            elif controllers[name]["mountpoint"] is None and mountinfo_text is not None:
                reason(
                    "cgroup-v1-controller-unmounted",
                    f"The v1 controller {name} is not mounted in this mount namespace."
                )
    if version == "v2" and delegation is not None:
        if delegation["available"] is not None:
            for name in REQUIRED_V2:
                if name not in delegation["available"]:
                    reason(
                        "cgroup-v2-controller-not-delegated",
                        f"The v2 controller {name} is not delegated to this cgroup."
                    )
        if (
            delegation["root_has_processes"]
            and cgroupns != "host"
            and not delegation["subtree_control"]
        ):
            reason(
                "cgroup-v2-root-has-processes",
                "The visible cgroup v2 root still holds processes and enables no controllers in cgroup.subtree_control; "
                "move the processes into a child cgroup (as docker:dind does with /init) before starting a nested runtime."
            )

    return {
        "cgroup_version": version,
        "controllers": controllers,
        "devices_own_hierarchy": devices_own,
        "cgroupns": cgroupns,
        "cgroupns_evidence": evidence,
        "v2_delegation": delegation,
        "writable": writable,
        "nesting_ready": not reasons,
        "reasons": reasons,
        "reason_ids": reason_ids,
    }


def version_from_sys(sys_root: str) -> tuple[str | None, str | None]:
    """(version, evidence) from the layout of ``sys_root/fs/cgroup`` alone, for a capture without
    ``/proc``: ``cgroup.controllers`` at its top is cgroup2 mounted there (``v2``); controller
    directories holding ``tasks`` are v1 hierarchies, with a ``unified`` cgroup2 beside them (``hybrid``)."""
    base = os.path.join(sys_root, "fs", "cgroup")
    if os.path.isfile(os.path.join(base, "cgroup.controllers")):
        return "v2", f"{base}/cgroup.controllers exists: cgroup2 is mounted at /sys/fs/cgroup."
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return None, None
    v1 = [name for name in names if os.path.isfile(os.path.join(base, name, "tasks"))]
    unified = os.path.isfile(os.path.join(base, "unified", "cgroup.controllers"))
    if v1:
        return (
            "hybrid" if unified else "v1",
            f"{base} holds the v1 hierarchies {', '.join(v1)}"
            + (" and a cgroup2 hierarchy at unified." if unified else "."),
        )
    if unified:
        return "hybrid", f"{base}/unified/cgroup.controllers exists: cgroup2 is mounted at /sys/fs/cgroup/unified."
    return None, None


def gather(
    proc_root: str, sys_root: str, pid: str = "self", reader: Reader | None = None
) -> tuple[dict[str, t.Any], list[str]]:
    """Read the files below ``proc_root``/``sys_root`` and return (result, warnings)."""
    reader = reader or Reader()
    warnings: list[str] = []
    cgroup = reader.text(proc_root, pid, "cgroup")
    mountinfo = read_mount_table(proc_root, pid, reader)
    ns_link = reader.link(proc_root, pid, "ns", "cgroup")
    for item in (cgroup, mountinfo):
        if item.warning:
            warnings.append(item.warning)

    v2_files: dict[str, str | None] | None = None
    mounts = parse_mountinfo(mountinfo.text) if mountinfo.text is not None else []
    v2_mount = next((m for m in mounts if m["fstype"] == "cgroup2"), None)
    if v2_mount is not None:
        base = sys_path_for(v2_mount["mount_point"], sys_root)
        if base is None:
            warnings.append(
                f"cgroup2 is mounted at {v2_mount['mount_point']}, outside /sys; v2 delegation is not read."
            )
        else:
            v2_files = {}
            for name in (
                "cgroup.controllers",
                "cgroup.subtree_control",
                "cgroup.procs",
            ):
                item = reader.text(base, name)
                v2_files[name] = item.text
                if item.warning:
                    warnings.append(item.warning)
    sys_version: str | None = None
    sys_v2_mountpoint: str | None = None
    if cgroup.text is None and mountinfo.text is None:
        sys_version, sys_evidence = version_from_sys(sys_root)
        if sys_version is not None:
            warnings.append(
                f"cgroup_version {sys_version!r} is read from the layout of /sys/fs/cgroup alone: {sys_evidence}"
            )
        if sys_version in ("v2", "hybrid"):
            sys_v2_mountpoint = "/sys/fs/cgroup" if sys_version == "v2" else "/sys/fs/cgroup/unified"
            base = sys_path_for(sys_v2_mountpoint, sys_root) or sys_root
            # Only files that exist: which of them the capture lacks is not worth a warning each.
            v2_files = {
                name: reader.text(base, name).text
                for name in ("cgroup.controllers", "cgroup.subtree_control", "cgroup.procs")
            }
    result = analyze(cgroup.text, mountinfo.text, ns_link.text, v2_files, sys_version, sys_v2_mountpoint)
    if ns_link.text is None and result["cgroupns"] == "unknown":
        warnings.append(
            ns_link.warning
            or f"{os.path.join(proc_root, pid, 'ns', 'cgroup')} is not readable."
        )
    return result, warnings
