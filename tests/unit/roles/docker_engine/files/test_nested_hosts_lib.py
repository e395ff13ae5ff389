# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared shell library (roles/docker_engine/files/nested-hosts-lib.sh), sourced in ``sh`` the way
the entrypoints and the supervisor source it: the iptables choice with stand-in ``*-save`` commands
on PATH, the cgroup parent on captured ``/proc`` trees, the pidfile helpers on a stand-in proc root."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[5]
LIB = REPO / "roles" / "docker_engine" / "files" / "nested-hosts-lib.sh"
FIXTURES = REPO / "tests" / "unit" / "fixtures"

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")


def _sh(script: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in ``sh -eu`` after sourcing the library; ``log`` prints to stderr."""
    env = {"PATH": path or os.environ["PATH"], "LANG": "C"}
    program = f'set -eu\nlog() {{ echo "LOG $*" >&2; }}\n. "{LIB}"\n{script}\n'
    return subprocess.run(["sh", "-c", program], capture_output=True, text=True, env=env, timeout=60, check=False)


# --- nh_choose_iptables ------------------------------------------------------------------------
def _save_command(rules: int | None) -> str:
    """An iptables-save stand-in printing ``rules`` rules in one table, or failing when None."""
    if rules is None:
        return "#!/bin/sh\necho 'iptables: Failed to initialize nft: Protocol not supported' >&2\nexit 1\n"
    lines = "".join(f"echo '-A FORWARD -j RULE{n}'\n" for n in range(rules))
    return f"#!/bin/sh\necho '*filter'\necho ':FORWARD ACCEPT [0:0]'\n{lines}echo COMMIT\n"


# id: (IPv4 and IPv6 rules per backend, None = the backend cannot be read), expected choice, counts logged
IPTABLES_CASES = {
    "nft-more-rules": ({"nft": (4, 2), "legacy": (1, 0)}, "nft", "legacy rules: 1, nft rules: 6"),
    "legacy-more-rules": ({"nft": (2, 0), "legacy": (7, 3)}, "legacy", "legacy rules: 10, nft rules: 2"),
    "tie": ({"nft": (3, 0), "legacy": (0, 3)}, "nft", "legacy rules: 3, nft rules: 3"),
    "both-empty": ({"nft": (0, 0), "legacy": (0, 0)}, "nft", "legacy rules: 0, nft rules: 0"),
    "nft-unreadable": ({"nft": (None, None), "legacy": (0, 0)}, "legacy", "legacy rules: 0, nft rules: unreadable"),
    "ipv6-unreadable-counts-ipv4": ({"nft": (2, None), "legacy": (1, None)}, "nft", "legacy rules: 1, nft rules: 2"),
    "neither-readable": ({"nft": (None, None), "legacy": (None, None)}, "", "none, leaving the default"),
}


def _stub_save_commands(bin_dir: Path, backends: dict[str, tuple[int | None, int | None]]) -> None:
    for backend, (v4, v6) in backends.items():
        for tool, rules in ((f"iptables-{backend}-save", v4), (f"ip6tables-{backend}-save", v6)):
            stub = bin_dir / tool
            # Each run leaves its name in ran.log, so that a test can tell which commands ran.
            stub.write_text(_save_command(rules).replace("#!/bin/sh\n", f"#!/bin/sh\necho {tool} >>{bin_dir}/ran.log\n", 1))
            stub.chmod(0o755)


def _proc_with_legacy_tables(root: Path, ipv4: str | None, ipv6: str | None) -> Path:
    """A stand-in proc root whose net/ip_tables_names and net/ip6_tables_names hold ``ipv4`` and
    ``ipv6`` (None: the file is absent, as without the ip_tables module)."""
    (root / "net").mkdir(parents=True)
    for name, text in (("ip_tables_names", ipv4), ("ip6_tables_names", ipv6)):
        if text is not None:
            (root / "net" / name).write_text(text)
    return root


def _choose_iptables(bin_dir: Path, proc_root: Path, expected: str) -> subprocess.CompletedProcess[str]:
    """Run nh_choose_iptables on ``proc_root`` with the stand-in save commands of ``bin_dir`` first on
    PATH; it must succeed and choose ``expected``."""
    proc = _sh(
        f'nh_choose_iptables "{proc_root}"\necho "MODE=$NH_IPTABLES_MODE"',
        path=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"MODE={expected}"
    return proc


@pytest.mark.parametrize(("backends", "expected", "logged"), IPTABLES_CASES.values(), ids=IPTABLES_CASES.keys())
def test_choose_iptables(
    tmp_path: Path, backends: dict[str, tuple[int | None, int | None]], expected: str, logged: str
) -> None:
    """Legacy tables exist in the network namespace: the rules of both backends are counted."""
    _stub_save_commands(tmp_path, backends)
    proc = _choose_iptables(tmp_path, _proc_with_legacy_tables(tmp_path / "proc", "filter\nnat\n", ""), expected)
    assert "LOG iptables backend: " in proc.stderr and logged in proc.stderr, proc.stderr


# id: (nft readable, expected choice)
NO_LEGACY_TABLES_CASES = {"nft-readable": (True, "nft"), "nft-unreadable": (False, "legacy")}


@pytest.mark.parametrize(("nft_readable", "expected"), NO_LEGACY_TABLES_CASES.values(), ids=NO_LEGACY_TABLES_CASES.keys())
def test_choose_iptables_without_legacy_tables(tmp_path: Path, nft_readable: bool, expected: str) -> None:
    """No legacy table in the network namespace: legacy holds no rules, so the choice is the one the
    counts would give (nft when readable, else legacy) after one nft save command only."""
    _stub_save_commands(tmp_path, {"nft": (5, 1) if nft_readable else (None, None), "legacy": (0, 0)})
    proc = _choose_iptables(tmp_path, _proc_with_legacy_tables(tmp_path / "proc", "", ""), expected)
    assert f"LOG iptables backend: {expected} (no legacy tables in this network namespace)" in proc.stderr
    assert (tmp_path / "ran.log").read_text().split() == ["iptables-nft-save"]


# id: (ip_tables_names, ip6_tables_names; None = absent)
LEGACY_TABLES_UNKNOWN_CASES = {
    "no-ip_tables-module": (None, None),
    "ipv6-list-absent": ("", None),
    "ipv6-table-only": ("", "filter\n"),
}


@pytest.mark.parametrize(("ipv4", "ipv6"), LEGACY_TABLES_UNKNOWN_CASES.values(), ids=LEGACY_TABLES_UNKNOWN_CASES.keys())
def test_choose_iptables_counts_unless_both_lists_are_empty(tmp_path: Path, ipv4: str | None, ipv6: str | None) -> None:
    _stub_save_commands(tmp_path, {"nft": (1, 0), "legacy": (0, 4)})
    proc_root = _proc_with_legacy_tables(tmp_path / "proc", ipv4, ipv6)
    proc = _sh(
        f'nh_choose_iptables "{proc_root}"\necho "MODE=$NH_IPTABLES_MODE"',
        path=f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "MODE=legacy"
    assert "legacy rules: 4, nft rules: 1" in proc.stderr, proc.stderr


# --- nh_cgroup_parent --------------------------------------------------------------------------
def _own_memory_cgroup(proc_root: Path) -> str:
    for line in (proc_root / "self" / "cgroup").read_text().splitlines():
        if "memory" in line.split(":")[1].split(","):
            return line.split(":", 2)[2]
    raise AssertionError(f"{proc_root}: no memory line")


# id: (captured tree, what the stand-in sys root shows, expected cgroup parent or None for "the own one/docker")
CGROUP_CASES = {
    "docker-host-tree-visible": ("docker-default", "own-dir", None),
    "docker-host-tree-hidden": ("docker-default", "nothing", ""),
    "dind-inside-dind": ("dind-inner", "own-dir", None),
    "podman-systemd-slice": ("podman-rootful-cgroup-v1", "own-dir", None),
    "vm-process-cgroup": ("host-debian12-hybrid-vm", "own-dir", None),
    "cgroupns-private-root": ("docker-cgroupns-private", "own-dir", ""),
    "cgroup-v2": ("cgroup-v2-host", "v2", ""),
    "no-memory-controller": ("k8s-containerd-cgroup-v1", "nothing", ""),
}


@pytest.mark.parametrize(("tree", "sys_shows", "expected"), CGROUP_CASES.values(), ids=CGROUP_CASES.keys())
def test_cgroup_parent(tmp_path: Path, tree: str, sys_shows: str, expected: str | None) -> None:
    proc_root = FIXTURES / tree / "proc"
    sys_root = tmp_path / "sys"
    (sys_root / "fs" / "cgroup" / "memory").mkdir(parents=True)
    if sys_shows == "own-dir":
        (sys_root / "fs" / "cgroup" / "memory" / _own_memory_cgroup(proc_root).lstrip("/")).mkdir(
            parents=True, exist_ok=True
        )
    elif sys_shows == "v2":
        (sys_root / "fs" / "cgroup" / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    if expected is None:
        expected = _own_memory_cgroup(proc_root).rstrip("/") + "/docker"
    proc = _sh(f'nh_cgroup_parent "{proc_root}" "{sys_root}"\necho "PARENT=$NH_CGROUP_PARENT"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"PARENT={expected}"
    assert ("LOG inner dockerd cgroup parent: " in proc.stderr) == bool(expected), proc.stderr


def test_cgroup_parent_without_a_cgroup_file(tmp_path: Path) -> None:
    proc = _sh(f'nh_cgroup_parent "{tmp_path}/proc" "{tmp_path}/sys"\necho "PARENT=$NH_CGROUP_PARENT"')
    assert (proc.returncode, proc.stdout.strip()) == (0, "PARENT=")


# --- pidfile helpers ---------------------------------------------------------------------------
# id: (comm and stat state of pid 4242 in the stand-in proc root, None = no such pid; pidfile text,
#      the pidfile is kept)
PIDFILE_CASES = {
    "live-dockerd": (("dockerd", "S"), "4242\n", True),
    "live-dockerd-no-newline": (("dockerd", "S"), "4242", True),
    "dead-pid": (None, "4242\n", False),
    "reused-by-sleep": (("sleep", "S"), "4242\n", False),
    "zombie-dockerd": (("dockerd", "Z"), "4242\n", False),
    "not-a-number": (("dockerd", "S"), "garbage\n", False),
    "empty": (("dockerd", "S"), "", False),
}


def _proc_with(tmp_path: Path, process: tuple[str, str] | None) -> Path:
    proc_root = tmp_path / "proc"
    proc_root.mkdir()
    if process is not None:
        comm, state = process
        (proc_root / "4242").mkdir()
        (proc_root / "4242" / "comm").write_text(f"{comm}\n")
        # A command name holding ") " must not be taken for the end of the name.
        (proc_root / "4242" / "stat").write_text(f"4242 ({comm}) x) {state} 1 4242 4242 0 -1 4194560 0 0 0 0\n")
    return proc_root


@pytest.mark.parametrize(("process", "content", "kept"), PIDFILE_CASES.values(), ids=PIDFILE_CASES.keys())
def test_remove_stale_pidfile(tmp_path: Path, process: tuple[str, str] | None, content: str, kept: bool) -> None:
    proc_root = _proc_with(tmp_path, process)
    pidfile = tmp_path / "docker.pid"
    pidfile.write_text(content)
    proc = _sh(
        f'if pid=$(nh_running_pid "{pidfile}" "{proc_root}"); then echo "RUNNING=$pid"; else echo RUNNING=; fi\n'
        f'nh_remove_stale_pidfile "{pidfile}" "{proc_root}"'
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("RUNNING=4242" if kept else "RUNNING=")
    assert pidfile.exists() == kept
    assert ("LOG removing stale pidfile " in proc.stderr) != kept, proc.stderr


def test_remove_stale_pidfile_without_a_pidfile(tmp_path: Path) -> None:
    proc = _sh(f'nh_remove_stale_pidfile "{tmp_path}/docker.pid" "{tmp_path}"\necho done')
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "done", "")
