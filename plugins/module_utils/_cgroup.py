# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cgroup v1 / v2 / hybrid analysis for nested container hosts (pure, typed)."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    MountInfo,
    parse_mountinfo,
    read_link,
    read_text,
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
    """Return ``v1``, ``v2`` or ``hybrid``; ``None`` when nothing is known."""
    has_v1 = any(line.hierarchy_id != 0 for line in lines) or any(
        m["fstype"] == "cgroup" for m in mounts
    )
    has_v2 = any(line.hierarchy_id == 0 for line in lines) or bool(
        _cgroup2_mounts(mounts)
    )
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
        mount = _mount_for(line.controllers, mounts) if line.hierarchy_id else None
        if mount is not None and line.path != "/" and mount["root"] == line.path:
            return (
                "host",
                (
                    f"the process sees its full cgroup path {line.path!r}, which is also the root of the "
                    f"{mount['mount_point']} mount: the host's cgroup tree is visible."
                ),
            )
    return (
        "unknown",
        "ns/cgroup could not be read and the cgroup paths do not show which namespace is used.",
    )


def analyze(
    cgroup_text: str | None,
    mountinfo_text: str | None,
    ns_link: str | None,
    v2_files: dict[str, str | None] | None,
) -> dict[str, t.Any]:
    """Compute the ``cgroup_info`` result from already-read texts.

    ``v2_files`` holds the texts of ``cgroup.controllers``, ``cgroup.subtree_control`` and
    ``cgroup.procs`` of the visible cgroup2 root (``None`` values when unreadable).
    """
    lines = parse_proc_cgroup(cgroup_text) if cgroup_text is not None else []
    mounts = parse_mountinfo(mountinfo_text) if mountinfo_text is not None else []
    version = (
        detect_version(lines, mounts)
        if (cgroup_text is not None or mountinfo_text is not None)
        else None
    )
    v2_mounts = _cgroup2_mounts(mounts)
    v2_mount = v2_mounts[0] if v2_mounts else None
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
    if version in ("v2", "hybrid") and v2_mount is not None and v2_files is not None:
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
                    "mountpoint": v2_mount["mount_point"],
                },
            )
        delegation = {
            "mountpoint": v2_mount["mount_point"],
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
    if cgroup_text is None:
        reasons.append(
            "The process's cgroup file could not be read, so cgroup nesting cannot be judged."
        )
    if mountinfo_text is None:
        reasons.append(
            "mountinfo could not be read, so cgroup mounts cannot be judged."
        )
    if mountinfo_text is not None and not creation_mounts:
        reasons.append(
            "No cgroup filesystem is mounted in this mount namespace; a nested runtime has nowhere to create cgroups."
        )
    read_only = [
        m["mount_point"]
        for m in creation_mounts
        if "ro" in m["mount_options"] or "ro" in m["super_options"]
    ]
    if read_only:
        reasons.append(
            f"The cgroup mounts {', '.join(read_only)} are read-only; a nested runtime cannot create child "
            "cgroups there (mount /sys/fs/cgroup read-write)."
        )
    if devices_own is False:
        reasons.append(
            "The devices controller shares a hierarchy with other controllers, which nested runc cannot manage."
        )
    if version in ("v1", "hybrid") and cgroup_text is not None:
        for name in REQUIRED_V1:
            if name not in controllers:
                reasons.append(
                    f"The v1 controller {name} is not available to this process."
                )
            elif controllers[name]["mountpoint"] is None and mountinfo_text is not None:
                reasons.append(
                    f"The v1 controller {name} is not mounted in this mount namespace."
                )
    if version == "v2" and delegation is not None:
        if delegation["available"] is not None:
            for name in REQUIRED_V2:
                if name not in delegation["available"]:
                    reasons.append(
                        f"The v2 controller {name} is not delegated to this cgroup."
                    )
        if (
            delegation["root_has_processes"]
            and cgroupns != "host"
            and not delegation["subtree_control"]
        ):
            reasons.append(
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
    }


def gather(
    proc_root: str, sys_root: str, pid: str = "self"
) -> tuple[dict[str, t.Any], list[str]]:
    """Read the files below ``proc_root``/``sys_root`` and return (result, warnings)."""
    warnings: list[str] = []
    cgroup = read_text(proc_root, pid, "cgroup")
    mountinfo = read_text(proc_root, pid, "mountinfo")
    ns_link = read_link(proc_root, pid, "ns", "cgroup")
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
                item = read_text(base, name)
                v2_files[name] = item.text
                if item.warning:
                    warnings.append(item.warning)
    result = analyze(cgroup.text, mountinfo.text, ns_link.text, v2_files)
    if ns_link.text is None and result["cgroupns"] == "unknown":
        warnings.append(
            ns_link.warning
            or f"{os.path.join(proc_root, pid, 'ns', 'cgroup')} is not readable."
        )
    return result, warnings
