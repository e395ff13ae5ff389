# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""scripts/setup.sh on a fake machine: its profiles (``--demo`` for `make demo`, the full one for
`make test`) install the right share once, complete each other, and a second run changes nothing.

apt, dpkg-query, pip, the Pythons and docker are stand-ins on PATH that record what they were asked
to do; the script itself and its requirement files are copies of this checkout's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
COPIED = ("scripts/setup.sh", "scripts/ensure-dockerd.sh", "roles/docker_engine/files/nested-hosts-lib.sh",
          "requirements.txt", "requirements-demo.txt", "requirements-py39.txt", "constraints.txt")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="scripts/setup.sh refuses to run without root")

FAKES = {
    # Installed packages are lines of $FAKE/installed.
    "dpkg-query": 'grep -qx "${@: -1}" "$FAKE/installed" 2>/dev/null && echo "install ok installed"; exit 0',
    "apt-get": 'echo "apt-get $*" >>"$FAKE/log"; [ "$1" = install ] || exit 0; '
               'for a in "$@"; do case $a in -*|install) ;; *) echo "$a" >>"$FAKE/installed";; esac; done',
    # `python -m venv DIR` makes DIR/bin/pip, which records its arguments.
    "python3": '[ "$1 $2" = "-m venv" ] || exit 1; mkdir -p "$3/bin"; touch "$3/bin/python"; chmod +x "$3/bin/python"; '
               'printf \'#!/bin/bash\\necho "pip($0) $*" >>"$FAKE/log"\\n\' >"$3/bin/pip"; chmod +x "$3/bin/pip"',
    "docker": '[ "$1" = info ]',
}


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "checkout"
    for rel in COPIED:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, root / rel)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name, body in FAKES.items():
        (fake_bin / name).write_text(f"#!/bin/bash\n{body}\n", encoding="utf-8")
        (fake_bin / name).chmod(0o755)
    shutil.copy2(fake_bin / "python3", fake_bin / "pypy3")
    (tmp_path / "installed").write_text("", encoding="utf-8")
    return {"root": root, "bin": fake_bin, "fake": tmp_path}


def _setup(machine: dict[str, Path], *argv: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    fake = machine["fake"]
    log = fake / "log"
    log.write_text("", encoding="utf-8")
    env = {
        "PATH": f"{machine['bin']}:/usr/bin:/bin",
        "FAKE": str(fake),
        "VENV": str(fake / "venv"),
        "PYTHON": "python3",
        "ANSIBLE_COLLECTIONS_HOME": str(fake / "collections"),
        "HOME": str(fake),
    }
    proc = subprocess.run(["bash", str(machine["root"] / "scripts/setup.sh"), *argv], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    return proc, log.read_text(encoding="utf-8").splitlines()


def _apt_installs(log: list[str]) -> set[str]:
    return {word for line in log if line.startswith("apt-get install") for word in line.split()[2:]
            if not word.startswith("-")}


def _pip_requirements(log: list[str]) -> list[str]:
    return [Path(line.split(" -r ", 1)[1].split()[0]).name for line in log if " -r " in line]


def test_demo_profile_installs_the_demo_share_only(machine: dict[str, Path]) -> None:
    proc, log = _setup(machine, "--demo")
    assert proc.returncode == 0, proc.stderr
    assert _apt_installs(log) == {"docker.io", "mmdebstrap", "iptables", "make", "git", "ca-certificates",
                                  "python3-venv"}
    assert _pip_requirements(log) == ["requirements-demo.txt"]
    assert not (machine["fake"] / "venv/py39").exists()
    assert (machine["fake"] / "collections/ansible_collections/nested/hosts").resolve() == machine["root"].resolve()


def test_full_profile_completes_a_demo_setup_and_then_both_are_current(machine: dict[str, Path]) -> None:
    _setup(machine, "--demo")
    proc, log = _setup(machine)
    assert proc.returncode == 0, proc.stderr
    added = _apt_installs(log)
    assert {"pypy3", "shellcheck", "rsync", "qemu-system-x86", "debootstrap"} <= added
    assert "docker.io" not in added  # already there from the demo's share
    assert _pip_requirements(log) == ["requirements.txt", "requirements-py39.txt"]

    for argv in ((), ("--demo",)):
        proc, log = _setup(machine, *argv)
        assert proc.returncode == 0, proc.stderr
        assert log == [], f"setup.sh {' '.join(argv)} on a set-up machine still ran {log}"
        assert "apt: all packages present" in proc.stdout
        assert "is current" in proc.stdout


def test_changed_demo_pins_rebuild_the_full_venv(machine: dict[str, Path]) -> None:
    _setup(machine)
    with (machine["root"] / "requirements-demo.txt").open("a", encoding="utf-8") as f:
        f.write("jmespath==1.0.1\n")
    proc, log = _setup(machine)
    assert proc.returncode == 0, proc.stderr
    assert _pip_requirements(log) == ["requirements.txt"]


def test_unknown_argument_is_refused_before_anything_runs(machine: dict[str, Path]) -> None:
    proc, log = _setup(machine, "--dmeo")
    assert proc.returncode == 2
    assert "unknown argument '--dmeo'" in proc.stderr and "--demo" in proc.stderr
    assert log == []
    assert not (machine["fake"] / "venv").exists()
