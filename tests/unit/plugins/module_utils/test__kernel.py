# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_kernel.py.

Inputs in the tables below are single lines written in the documented proc(5) formats to pin one parser
behaviour each; whole captured files are exercised by the fixture tests of the other module_utils.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ansible_collections.nested.hosts.plugins.module_utils import _kernel as k
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES, TREE_CASES, tree_args


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        pytest.param("/plain/path", "/plain/path", id="no-escape"),
        pytest.param("/mnt/with\\040space", "/mnt/with space", id="space-040"),
        pytest.param("/a\\011tab", "/a\ttab", id="tab-011"),
        pytest.param("/a\\012nl", "/a\nnl", id="newline-012"),
        pytest.param("/back\\134slash", "/back\\slash", id="backslash-134"),
        pytest.param("/two\\040\\040spaces", "/two  spaces", id="repeated"),
        pytest.param("/not\\08", "/not\\08", id="not-three-octal-digits"),
    ],
)
def test_unescape_mount_field(raw: str, decoded: str) -> None:
    assert k.unescape_mount_field(raw) == decoded


MOUNTINFO_CASES = [
    pytest.param(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        {
            "mount_id": 36,
            "parent_id": 35,
            "major_minor": "98:0",
            "root": "/mnt1",
            "mount_point": "/mnt2",
            "mount_options": ["rw", "noatime"],
            "optional_fields": ["master:1"],
            "fstype": "ext3",
            "source": "/dev/root",
            "super_options": ["rw", "errors=continue"],
        },
        id="proc5-example-one-optional-field",
    ),
    pytest.param(
        "42 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 master:2 - ext4 /dev/vda rw",
        {
            "optional_fields": ["shared:1", "master:2"],
            "fstype": "ext4",
            "root": "/var/lib/docker",
        },
        id="two-optional-fields",
    ),
    pytest.param(
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
        {"optional_fields": [], "fstype": "tmpfs", "super_options": ["rw", "mode=755"]},
        id="no-optional-fields",
    ),
    pytest.param(
        "50 27 0:40 / /mnt/my\\040disk rw - ext4 /dev/my\\040dev rw",
        {"mount_point": "/mnt/my disk", "source": "/dev/my dev"},
        id="escaped-space-in-mount-point-and-source",
    ),
    pytest.param(
        "33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct",
        {
            "mount_point": "/sys/fs/cgroup/cpu,cpuacct",
            "mount_options": ["ro", "nosuid"],
            "super_options": ["rw", "cpu", "cpuacct"],
        },
        id="joint-controllers-mount",
    ),
]


@pytest.mark.parametrize(("line", "expected"), MOUNTINFO_CASES)
def test_parse_mountinfo_line(line: str, expected: dict) -> None:
    (mount,) = k.parse_mountinfo(line + "\n")
    for key, value in expected.items():
        assert mount[key] == value, key


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage without separator", id="no-dash"),
        pytest.param("x y 0:1 / / rw - ext4 /dev/x rw", id="non-numeric-ids"),
        pytest.param("1 2 0:1 / / rw -", id="truncated-after-dash"),
    ],
)
def test_parse_mountinfo_skips_malformed(line: str) -> None:
    assert k.parse_mountinfo(line) == []


def test_parse_mountinfo_every_fixture_line() -> None:
    """Every line of every captured mountinfo parses (nothing silently dropped)."""
    files = sorted(FIXTURES.glob("*/proc/self/mountinfo"))
    assert len(files) >= 12
    for path in files:
        lines = [line for line in path.read_text().splitlines() if line]
        assert len(k.parse_mountinfo(path.read_text())) == len(lines), path


@pytest.mark.parametrize(
    ("mask", "count", "absent", "present"),
    [
        pytest.param(
            "000001fffeffffff",
            40,
            ["CAP_SYS_RESOURCE"],
            ["CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"],
            id="dev-vm-bounding",
        ),
        pytest.param(
            "00000000a80425fb",
            14,
            ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"],
            ["CAP_CHOWN", "CAP_AUDIT_WRITE"],
            id="docker-default",
        ),
        pytest.param("0000000000000000", 0, ["CAP_CHOWN"], [], id="empty"),
        pytest.param("0000000000200000", 1, [], ["CAP_SYS_ADMIN"], id="only-sys-admin"),
    ],
)
def test_decode_capabilities(
    mask: str, count: int, absent: list[str], present: list[str]
) -> None:
    names = k.decode_capabilities(mask)
    assert len(names) == count
    assert not set(absent) & set(names)
    assert set(present) <= set(names)


def test_decode_capabilities_unknown_bit_is_numbered() -> None:
    assert k.decode_capabilities(1 << 45) == ["CAP_45"]


def test_all_capabilities_follows_cap_last_cap() -> None:
    assert k.all_capabilities(40)[-1] == "CAP_CHECKPOINT_RESTORE"
    assert len(k.all_capabilities(37)) == 38


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "         0          0 4294967295\n", [[0, 0, 4294967295]], id="identity"
        ),
        pytest.param("0 165536 65536\n", [[0, 165536, 65536]], id="sysbox-style"),
        pytest.param(
            "0 1000 1\n1 100000 65536\n",
            [[0, 1000, 1], [1, 100000, 65536]],
            id="two-ranges",
        ),
        pytest.param("", [], id="empty"),
    ],
)
def test_parse_id_map(text: str, expected: list[list[int]]) -> None:
    assert k.parse_id_map(text) == expected


def test_parse_environ_nul_and_newline() -> None:
    assert k.parse_environ("container=docker\0HOME=/root\0") == {
        "container": "docker",
        "HOME": "/root",
    }
    assert k.parse_environ("container=podman\n") == {"container": "podman"}
    assert k.parse_environ("") == {}


def test_parse_status_keys() -> None:
    status = k.parse_status(
        (FIXTURES / "docker-default" / "proc" / "self" / "status").read_text()
    )
    assert status["CapEff"] == "00000000a80425fb"
    assert status["Seccomp"] == "2"


def test_read_text_missing_gives_warning(tmp_path: Path) -> None:
    result = k.read_text(str(tmp_path), "self", "cgroup")
    assert result.text is None
    assert str(tmp_path / "self" / "cgroup") in (result.warning or "")


def test_read_text_empty_file_is_empty_string(tmp_path: Path) -> None:
    (tmp_path / "current").write_text("")
    assert k.read_text(str(tmp_path), "current") == k.ReadResult("", None)


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root reads files whatever their mode, so EACCES cannot be provoked",
)
def test_read_text_unreadable_gives_warning(tmp_path: Path) -> None:
    path = tmp_path / "status"
    path.write_text("x")
    path.chmod(0)
    result = k.read_text(str(tmp_path), "status")
    assert result.text is None and "could not be read" in (result.warning or "")


def test_read_text_directory_gives_warning(tmp_path: Path) -> None:
    (tmp_path / "cgroup").mkdir()
    result = k.read_text(str(tmp_path), "cgroup")
    assert result.text is None and "could not be read" in (result.warning or "")


def test_read_link(tmp_path: Path) -> None:
    (tmp_path / "ns").mkdir()
    os.symlink("cgroup:[4026531835]", tmp_path / "ns" / "cgroup")
    assert k.read_link(str(tmp_path), "ns", "cgroup").text == "cgroup:[4026531835]"
    assert k.read_link(str(tmp_path), "ns", "missing").text is None


def test_root_error_names_parameter(tmp_path: Path) -> None:
    assert k.root_error("proc_root", str(tmp_path)) is None
    message = k.root_error("proc_root", str(tmp_path / "nope"))
    assert (
        message is not None
        and "proc_root" in message
        and str(tmp_path / "nope") in message
    )


@pytest.mark.parametrize(
    ("pid", "ok"),
    [
        ("self", True),
        ("1", True),
        ("4242", True),
        ("abc", False),
        ("../1", False),
        ("", False),
    ],
)
def test_pid_error(pid: str, ok: bool) -> None:
    assert (k.pid_error(pid) is None) is ok


def test_kernel_argument_spec_shared_options_then_extra() -> None:
    spec = k.kernel_argument_spec(with_fs_root=True, pool_size={"type": "int", "default": 24})
    assert list(spec) == ["proc_root", "sys_root", "pid", "fs_root", "pool_size"]
    assert spec["proc_root"] == {"type": "path", "default": "/proc"}
    assert spec["sys_root"] == {"type": "path", "default": "/sys"}
    assert spec["pid"] == {"type": "str", "default": "self"}
    assert spec["fs_root"] == {"type": "path", "default": "/"}
    # Each call builds a new mapping: one module cannot change another's spec.
    spec["pid"]["default"] = "1"
    assert k.kernel_argument_spec()["pid"]["default"] == "self"


def test_option_errors_checks_the_roots_present_and_pid(tmp_path: Path) -> None:
    good = {"proc_root": str(tmp_path), "sys_root": "/nonexistent-is-not-checked", "pid": "self"}
    assert k.option_errors(good) == []
    errors = k.option_errors({**good, "proc_root": str(tmp_path / "no"), "fs_root": str(tmp_path / "nofs"), "pid": "x"})
    assert [e.split("=", 1)[0] for e in errors] == ["proc_root", "fs_root", "pid"]
    assert k.option_errors({**good, "fs_root": str(tmp_path)}) == []


@pytest.mark.parametrize(
    ("mount_point", "expected"),
    [
        ("/sys/fs/cgroup", "/t/sys/fs/cgroup"),
        ("/sys/fs/cgroup/unified", "/t/sys/fs/cgroup/unified"),
        ("/cgroup2", None),
    ],
)
def test_sys_path_for(mount_point: str, expected: str | None) -> None:
    assert k.sys_path_for(mount_point, "/t/sys") == expected


@pytest.mark.parametrize(
    ("layout", "proc", "sys", "error"),
    [
        pytest.param(["sys"], "proc", "sys", False, id="tree-with-only-sys-is-read"),
        pytest.param([], "proc", "sys", True, id="tree-without-proc-or-sys-fails"),
        pytest.param(["sys"], "proc", "/sys", True, id="proc-missing-outside-the-tree-fails"),
        pytest.param(["sys", "proc"], "proc", "sys", False, id="whole-tree"),
    ],
)
def test_partial_tree_is_not_an_error(tmp_path: Path, layout: list, proc: str, sys: str, error: bool) -> None:
    for name in layout:
        (tmp_path / name).mkdir()
    params = {
        "proc_root": str(tmp_path / proc),
        "sys_root": sys if sys.startswith("/") else str(tmp_path / sys),
        "pid": "self",
    }
    errors = k.option_errors(params)
    assert bool(errors) is error
    if error:
        assert errors[0].startswith("proc_root=") and "set proc_root" in errors[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "lxd/containers/c1 / zfs rw,relatime,xattr 0 0\n",
            [("/", "zfs", "lxd/containers/c1", ["rw", "relatime", "xattr"])],
            id="zfs-root",
        ),
        pytest.param(
            "cgroup /sys/fs/cgroup/cpu\\040x cgroup ro,cpu 0 0\n", [("/sys/fs/cgroup/cpu x", "cgroup", "cgroup", ["ro", "cpu"])],
            id="escaped-space",
        ),
        pytest.param("short line\n\n", [], id="malformed-skipped"),
    ],
)
def test_parse_mounts(text: str, expected: list) -> None:
    mounts = k.parse_mounts(text)
    assert [(m["mount_point"], m["fstype"], m["source"], m["super_options"]) for m in mounts] == expected
    assert all(m["root"] == "" and m["mount_options"] == m["super_options"] for m in mounts)
    # Rendered as mountinfo and parsed back, the same mounts (root unknown: '?').
    again = k.parse_mountinfo(k.mounts_to_mountinfo(mounts))
    assert [(m["mount_point"], m["fstype"], m["source"], m["root"]) for m in again] == [
        (mp, fs, src, "?") for mp, fs, src, _opts in expected
    ]


def test_read_mount_table_prefers_mountinfo_then_mounts(tmp_path: Path) -> None:
    (tmp_path / "self").mkdir()
    assert k.read_mount_table(str(tmp_path), "self").text is None
    (tmp_path / "self" / "mounts").write_text("proc /proc proc rw 0 0\n")
    result = k.read_mount_table(str(tmp_path), "self")
    assert "- proc proc rw" in result.text and "does not show mount roots" in result.warning
    (tmp_path / "self" / "mountinfo").write_text("1 0 0:1 / / rw - ext4 /dev/vda rw\n")
    assert k.read_mount_table(str(tmp_path), "self") == (
        "1 0 0:1 / / rw - ext4 /dev/vda rw\n",
        None,
    )


def test_reader_answers_each_path_once(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("one\n")
    os.symlink("cgroup:[4026531835]", tmp_path / "ns")
    reader = k.Reader()
    first = reader.text(str(tmp_path), "a")
    (tmp_path / "a").write_text("two\n")
    assert reader.text(str(tmp_path), "a") is first and first.text == "one\n"
    assert reader.text(str(tmp_path / "a")) is first, "the same path however it is split"
    assert reader.link(str(tmp_path), "ns").text == "cgroup:[4026531835]"
    missing = reader.text(str(tmp_path), "absent")
    assert missing.text is None and "absent does not exist" in (missing.warning or "")


class _CountingOpen:
    """Counts what is opened or readlink'd below ``root`` (the module's kernel files, not Python's)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
        import builtins
        from collections import Counter

        self.root = str(root)
        self.counts: Counter[str] = Counter()
        real_open, real_readlink = builtins.open, os.readlink

        def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            self._count(file)
            return real_open(file, *args, **kwargs)

        def counting_readlink(path, *args, **kwargs):  # type: ignore[no-untyped-def]
            self._count(path)
            return real_readlink(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", counting_open)
        monkeypatch.setattr(os, "readlink", counting_readlink)

    def _count(self, path: object) -> None:
        text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
        if isinstance(text, str) and text.startswith(self.root):
            self.counts[os.path.normpath(text)] += 1

    def twice(self) -> dict[str, int]:
        return {path: n for path, n in self.counts.items() if n > 1}


READ_ONCE_CASES = [
    pytest.param("nesting_facts", case, id=f"nesting_facts-{case}") for case in TREE_CASES
] + [pytest.param(module, "host-debian12-hybrid-vm", id=module) for module in ("cgroup_info", "apparmor_info")]


@pytest.mark.parametrize(("module", "case"), READ_ONCE_CASES)
def test_one_module_run_reads_each_kernel_file_once(
    run_module, monkeypatch: pytest.MonkeyPatch, module: str, case: str
) -> None:
    counter = _CountingOpen(monkeypatch, FIXTURES / case)
    result = run_module(module, tree_args(case, with_fs_root=module == "nesting_facts"))
    assert result.get("failed") is not True, result.get("msg")
    assert counter.counts, "the run read the captured tree"
    assert counter.twice() == {}


def test_sysbox_preflight_reads_each_kernel_file_once(run_module, monkeypatch: pytest.MonkeyPatch) -> None:
    case = "host-debian12-hybrid-vm"
    counter = _CountingOpen(monkeypatch, FIXTURES / case)
    result = run_module("sysbox_preflight", tree_args(case, with_fs_root=True), os_release_path=str(FIXTURES / case / "etc/os-release"))
    assert result.get("failed") is not True, result.get("msg")
    assert counter.counts and counter.twice() == {}
