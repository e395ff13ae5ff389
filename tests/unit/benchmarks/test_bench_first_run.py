# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure parts of benchmarks/bench_first_run.py: the apt timing line, profile_roles' summary, the
sum of the parts, and the package lists it takes from scripts/setup.sh."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import bench_first_run as bench  # benchmarks/ is on the path (conftest.py)

REPO = Path(__file__).resolve().parents[3]

# The summary ansible.posix.profile_roles printed after a first demo run on this machine kind.
ROLES_RECAP = """
ROLES RECAP ********************************************************************
Tuesday 01 December 2026  19:40:02 +0000 (0:00:00.021)       0:02:09.512 ******
===============================================================================
base_image ------------------------------------------------------------- 65.10s
docker_engine ---------------------------------------------------------- 30.52s
dind ------------------------------------------------------------------- 16.70s
ansible.builtin.include_role -------------------------------------------- 0.40s
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
total ----------------------------------------------------------------- 112.72s
"""


def test_parse_profile_roles_reads_each_role_and_the_total() -> None:
    assert bench.parse_profile_roles(ROLES_RECAP) == {
        "base_image": 65.10, "docker_engine": 30.52, "dind": 16.70, "ansible.builtin.include_role": 0.40,
        "total": 112.72,
    }


def test_parse_profile_roles_ignores_the_task_time_lines() -> None:
    assert bench.parse_profile_roles("Tuesday 01 December 2026  19:40:02 +0000 (0:00:00.021)  0:02:09.512 ****\n") == {}


def test_parse_apt_takes_the_last_timing_line() -> None:
    out = "noise\nupdate=10.0,11.5 install=11.5,29.25 unpacked=65\n"
    assert bench.parse_apt(out) == pytest.approx((1.5, 17.75, 65))


def test_parse_apt_without_a_timing_line_says_what_it_got() -> None:
    with pytest.raises(ValueError, match="no apt timing.*E: Unable to locate package"):
        bench.parse_apt("E: Unable to locate package docker.io\n")


def test_first_run_sum_names_a_part_it_did_not_measure() -> None:
    assert bench.first_run_sum(19.3, 18.4, 129.5) == "packages + virtualenv + demo = 167.2 s"
    assert "demo not measured: run with --demo" in bench.first_run_sum(19.3, 18.4, None)


def test_setup_packages_are_setup_sh_lists_and_the_demo_share_is_part_of_the_full_set() -> None:
    demo, full = bench.setup_packages(True), bench.setup_packages(False)
    assert "docker.io" in demo and "mmdebstrap" in demo and "pypy3" not in demo
    assert set(demo) < set(full) and "pypy3" in full
    listed = subprocess.run(["bash", "scripts/setup.sh", "--list-packages", "--demo"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    assert demo == listed


def test_the_venv_step_is_setup_sh_alone_and_touches_nothing_else(tmp_path: Path) -> None:
    # A venv whose stamp says it holds the demo's pins: setup.sh's venv step finds it current, and
    # --venv-only stops there (no apt, no collection link, no dockerd), which is what the bench times.
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".nested-hosts-requirements").write_text((REPO / "requirements-demo.txt").read_text().rstrip("\n"))
    argv = bench.setup_venv_argv(True)
    assert argv[1:] == [str(REPO / "scripts" / "setup.sh"), "--venv-only", "--demo"]
    proc = subprocess.run(argv, env={"PATH": "/usr/bin:/bin", "VENV": str(venv)}, capture_output=True, text=True,
                          check=False)
    if proc.returncode == 2 and "run as root" in proc.stderr:
        pytest.skip("scripts/setup.sh runs as root only")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"==> python: {venv} is current"]
