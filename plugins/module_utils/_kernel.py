# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers shared by the kernel-inspecting modules of nested.hosts.

Everything here takes a root directory (``proc_root``, ``sys_root``) or already-read text
and returns plain data, so the same code runs on a live host and on a captured tree.
Nothing raises on a missing or unreadable file: readers return ``None`` plus a warning.
"""

from __future__ import annotations

import os
import re
import typing as t

# Capability numbers as defined in include/uapi/linux/capability.h.
CAPABILITY_NAMES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")
_PID_RE = re.compile(r"^(self|[0-9]+)$")


class ReadResult(t.NamedTuple):
    """Text of a kernel file, or ``None`` with the reason in ``warning``."""

    text: str | None
    warning: str | None


def root_error(option: str, path: str) -> str | None:
    """Return an error message when ``path`` (the value of ``option``) is not a directory."""
    if not os.path.isdir(path):
        return (
            f"{option}={path!r} does not exist or is not a directory; set {option} to an existing "
            "directory (the live one or a captured tree)."
        )
    return None


def pid_error(pid: str) -> str | None:
    """Return an error message when ``pid`` is neither ``self`` nor a number."""
    if not _PID_RE.match(str(pid)):
        return (
            f"pid={pid!r} is not valid; use 'self' or a numeric process id such as 1."
        )
    return None


def kernel_argument_spec(with_fs_root: bool = False, **extra: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Options of every module that reads kernel files: ``proc_root``, ``sys_root`` and ``pid``
    (documented by the ``nested.hosts.kernel_roots`` doc fragment), ``fs_root`` when asked for,
    followed by ``extra``."""
    spec: dict[str, dict[str, t.Any]] = {
        "proc_root": {"type": "path", "default": "/proc"},
        "sys_root": {"type": "path", "default": "/sys"},
        "pid": {"type": "str", "default": "self"},
    }
    if with_fs_root:
        spec["fs_root"] = {"type": "path", "default": "/"}
    spec.update(extra)
    return spec


def partial_tree(params: t.Mapping[str, t.Any]) -> bool:
    """Whether ``proc_root`` is missing from a captured tree that has its ``sys/`` part: ``proc_root`` and
    ``sys_root`` are siblings and ``sys_root`` exists. Such a tree is read for what ``sys/`` allows."""
    proc_root, sys_root = params.get("proc_root"), params.get("sys_root")
    if not proc_root or not sys_root or os.path.exists(proc_root):
        return False
    same_tree = os.path.dirname(os.path.normpath(proc_root)) == os.path.dirname(os.path.normpath(sys_root))
    return same_tree and os.path.isdir(sys_root)


def option_errors(params: t.Mapping[str, t.Any]) -> list[str]:
    """Errors for the root options present in ``params`` (``proc_root``, ``fs_root``) and ``pid``.

    A captured tree without its ``proc/`` part (see ``partial_tree``) is not an error.
    """
    errors = [
        root_error(option, params[option])
        for option in ("proc_root", "fs_root")
        if option in params and not (option == "proc_root" and partial_tree(params))
    ]
    errors.append(pid_error(params["pid"]))
    return [error for error in errors if error]


def read_text(root: str, *parts: str) -> ReadResult:
    """Read ``root/parts...`` as text; a missing or unreadable file gives a warning, not an error."""
    path = os.path.join(root, *parts)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return ReadResult(
            None, f"{path} does not exist; the fields read from it are null."
        )
    except OSError as exc:
        return ReadResult(
            None,
            f"{path} could not be read ({exc.strerror or exc}); the fields read from it are null.",
        )
    return ReadResult(data.decode("utf-8", errors="replace"), None)


def read_link(root: str, *parts: str) -> ReadResult:
    """Return the target of a symbolic link such as ``proc/self/ns/cgroup``."""
    path = os.path.join(root, *parts)
    try:
        return ReadResult(os.readlink(path), None)
    except FileNotFoundError:
        return ReadResult(
            None, f"{path} does not exist; the fields read from it are null."
        )
    except OSError as exc:
        return ReadResult(
            None,
            f"{path} could not be read ({exc.strerror or exc}); the fields read from it are null.",
        )


class Reader:
    """``read_text`` and ``read_link`` that answer each path once per run: a module's gathers share one,
    so no /proc or /sys file is read twice (and all of them see the same contents)."""

    def __init__(self) -> None:
        self._texts: dict[str, ReadResult] = {}
        self._links: dict[str, ReadResult] = {}

    def text(self, root: str, *parts: str) -> ReadResult:
        path = os.path.join(root, *parts)
        if path not in self._texts:
            self._texts[path] = read_text(path)
        return self._texts[path]

    def link(self, root: str, *parts: str) -> ReadResult:
        path = os.path.join(root, *parts)
        if path not in self._links:
            self._links[path] = read_link(path)
        return self._links[path]


def unescape_mount_field(value: str) -> str:
    """Decode the octal escapes (``\\040`` space, ``\\011`` tab, ``\\012`` newline, ``\\134`` backslash)."""
    return _OCTAL_ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), value)


class MountInfo(t.TypedDict):
    """One line of ``/proc/<pid>/mountinfo`` (see proc(5))."""

    mount_id: int
    parent_id: int
    major_minor: str
    root: str
    mount_point: str
    mount_options: list[str]
    optional_fields: list[str]
    fstype: str
    source: str
    super_options: list[str]


def parse_mountinfo(text: str) -> list[MountInfo]:
    """Parse mountinfo text; lines that do not have the documented shape are skipped."""
    mounts: list[MountInfo] = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            separator = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < separator + 3:
            continue
        try:
            mount_id = int(fields[0])
            parent_id = int(fields[1])
        except ValueError:
            continue
        mounts.append(
            MountInfo(
                mount_id=mount_id,
                parent_id=parent_id,
                major_minor=fields[2],
                root=unescape_mount_field(fields[3]),
                mount_point=unescape_mount_field(fields[4]),
                mount_options=fields[5].split(","),
                optional_fields=[field for field in fields[6:separator] if field],
                fstype=fields[separator + 1],
                source=unescape_mount_field(fields[separator + 2]),
                super_options=fields[separator + 3].split(",")
                if len(fields) > separator + 3
                else [],
            )
        )
    return mounts


def parse_mounts(text: str) -> list[MountInfo]:
    """Parse ``/proc/<pid>/mounts`` (fstab format: source, mount point, type, options, 0, 0).

    The fallback when only this file was captured: the fields it lacks are ``-1`` (ids), ``""``
    (``major_minor``, and ``root``, which this format does not show) and ``[]``; its one option
    list stands for both the per-mount and the superblock options.
    """
    mounts: list[MountInfo] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        options = fields[3].split(",")
        mounts.append(
            MountInfo(
                mount_id=-1,
                parent_id=-1,
                major_minor="",
                root="",
                mount_point=unescape_mount_field(fields[1]),
                mount_options=options,
                optional_fields=[],
                fstype=fields[2],
                source=unescape_mount_field(fields[0]),
                super_options=options,
            )
        )
    return mounts


def mounts_to_mountinfo(mounts: list[MountInfo]) -> str:
    """Render mounts in the mountinfo layout, so code that takes mountinfo text can take them
    (an unknown mount root is written ``?``, which matches no cgroup path)."""
    def esc(value: str) -> str:
        return value.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")

    return "".join(
        f"{m['mount_id']} {m['parent_id']} {m['major_minor'] or '0:0'} {esc(m['root']) or '?'} {esc(m['mount_point'])} "
        f"{','.join(m['mount_options'])} - {m['fstype']} {esc(m['source'])} {','.join(m['super_options'])}\n"
        for m in mounts
    )


def read_mount_table(proc_root: str, pid: str, reader: Reader | None = None) -> ReadResult:
    """mountinfo of ``pid``; where only ``mounts`` was captured, that file in the mountinfo layout.

    The warning then says so: mounts shows no mount roots, so what depends on them stays unknown.
    """
    reader = reader or Reader()
    mountinfo = reader.text(proc_root, pid, "mountinfo")
    if mountinfo.text is not None:
        return mountinfo
    mounts = reader.text(proc_root, pid, "mounts")
    if mounts.text is None or not parse_mounts(mounts.text):
        return mountinfo
    return ReadResult(
        mounts_to_mountinfo(parse_mounts(mounts.text)),
        f"{os.path.join(proc_root, pid, 'mountinfo')} does not exist; the mount table is read from "
        f"{os.path.join(proc_root, pid, 'mounts')}, which does not show mount roots.",
    )


def parse_status(text: str) -> dict[str, str]:
    """Parse ``/proc/<pid>/status`` into a ``{key: value}`` dict (values stripped)."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            result[key.strip()] = value.strip()
    return result


def capability_name(number: int) -> str:
    """Name of capability ``number``; numbers newer than this table are ``CAP_<n>``."""
    if 0 <= number < len(CAPABILITY_NAMES):
        return CAPABILITY_NAMES[number]
    return f"CAP_{number}"


def decode_capabilities(mask: str | int) -> list[str]:
    """Decode a hexadecimal capability mask such as ``000001fffeffffff`` into ``CAP_*`` names."""
    value = int(mask, 16) if isinstance(mask, str) else mask
    names: list[str] = []
    number = 0
    while value:
        if value & 1:
            names.append(capability_name(number))
        value >>= 1
        number += 1
    return names


def all_capabilities(last_cap: int) -> list[str]:
    """Every capability the kernel knows when ``cap_last_cap`` is ``last_cap``."""
    return [capability_name(number) for number in range(last_cap + 1)]


def parse_id_map(text: str) -> list[list[int]]:
    """Parse ``uid_map``/``gid_map`` into ``[inside, outside, count]`` triples."""
    triples: list[list[int]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and all(part.isdigit() for part in parts):
            triples.append([int(part) for part in parts])
    return triples


def parse_environ(text: str) -> dict[str, str]:
    """Parse a NUL-separated ``/proc/<pid>/environ`` (newline-separated is accepted too)."""
    env: dict[str, str] = {}
    for item in re.split(r"[\0\n]", text):
        key, sep, value = item.partition("=")
        if sep and key:
            env[key] = value
    return env


def sys_path_for(mount_point: str, sys_root: str) -> str | None:
    """Map a mount point seen in mountinfo (``/sys/fs/cgroup``) to the same place below ``sys_root``."""
    if mount_point == "/sys" or mount_point.startswith("/sys/"):
        return os.path.join(sys_root, mount_point[len("/sys") :].lstrip("/"))
    return None
