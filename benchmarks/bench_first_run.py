# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A first `make demo` on a fresh machine, part by part, against the goal (180 s).

Run from the repository root:  .venv/bin/python benchmarks/bench_first_run.py [--demo] [--goal S]

* packages: in a fresh Debian container, ``apt-get update`` then ``apt-get install
  --no-install-recommends`` of the demo's share (``scripts/setup.sh --list-packages --demo``), and of
  the full set `make setup` installs for comparison; each in a new container, so nothing is cached.
  The container's root is a debootstrap ``minbase`` of the suite, made once per run (its time is
  printed: what a bare Debian root costs from this mirror). A cloud image ships more than minbase, so
  this is the most a fresh machine downloads.
* virtualenv: ``scripts/setup.sh --venv-only --demo`` (its own ``python3 -m venv`` and pip install of
  requirements-demo.txt, with its pip options) into a temporary directory, without pip's cache, and
  the full profile's for comparison, with this machine's Python and pip configuration.
* demo (``--demo`` only, because it first removes the demo and the images it builds): the demo's
  playbook, run by the ansible-playbook of the demo virtualenv just made (modules it imports are
  compiled on first use, and that is counted here), on a Docker engine without the demo's images,
  with ``ansible.posix.profile_roles``: the time of each role.

Prints each part, the sum of the demo's parts (packages + virtualenv + demo) and its ratio to the
goal. Without ``--demo`` the demo's part is not measured and the sum says so. Fails (exit 2), saying
why, when docker, debootstrap or the mirror is missing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it
import bench_demo  # the demo as bench_demo runs it (benchmarks/ is on the path of a script run from it)

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 180.0
IMAGE = "nhbench-first-run:minbase"
# The images the demo builds; its first run on a fresh machine has none of them.
DEMO_IMAGES = ("nested-hosts/base:bookworm", "nested-hosts/node:bookworm", "nested-hosts/dind:bookworm")
# A container has no init: policy-rc.d keeps the packages' maintainer scripts from starting services.
APT_SCRIPT = r"""set -eu
export DEBIAN_FRONTEND=noninteractive
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
t0=$(date +%s.%N); apt-get update -qq; t1=$(date +%s.%N)
apt-get install -y -qq --no-install-recommends "$@" >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log >&2; exit 1; }
t2=$(date +%s.%N)
echo "update=$t0,$t1 install=$t1,$t2 unpacked=$(grep -c '^Unpacking' /tmp/apt.log || true)"
"""
APT_RESULT = re.compile(r"update=(?P<u0>[\d.]+),(?P<u1>[\d.]+) install=(?P<i0>[\d.]+),(?P<i1>[\d.]+) unpacked=(?P<n>\d+)")
# ansible.posix.profile_roles: "<role> ---...--- 12.34s" and a "total" line.
ROLE_LINE = re.compile(r"^(?P<role>\S.*?)\s+-{3,}\s+(?P<secs>\d+(?:\.\d+)?)s\s*$", re.M)


def parse_apt(text: str) -> tuple[float, float, int]:
    """(update seconds, install seconds, packages unpacked) from APT_SCRIPT's last line."""
    matches = list(APT_RESULT.finditer(text))
    if not matches:
        raise ValueError(f"no apt timing in the output: {text.strip()[-300:]!r}")
    match = matches[-1]
    return (float(match["u1"]) - float(match["u0"]), float(match["i1"]) - float(match["i0"]), int(match["n"]))


def parse_profile_roles(text: str) -> dict[str, float]:
    """Role -> seconds from profile_roles' summary (the 'total' line included when printed)."""
    return {m["role"].strip(): float(m["secs"]) for m in ROLE_LINE.finditer(text)}


def first_run_sum(packages_s: float, venv_s: float, demo_s: float | None) -> str:
    """The first `make demo` as its parts' sum, or what is missing."""
    if demo_s is None:
        return f"packages + virtualenv = {packages_s + venv_s:.1f} s (demo not measured: run with --demo)"
    return f"packages + virtualenv + demo = {packages_s + venv_s + demo_s:.1f} s"


def setup_packages(demo: bool) -> list[str]:
    """The apt packages scripts/setup.sh installs for a profile (it is the one list)."""
    argv = ["bash", str(REPO / "scripts" / "setup.sh"), "--list-packages", *(["--demo"] if demo else [])]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def make_fresh_image(suite: str, mirror: str, work: Path) -> float:
    """Import a debootstrap minbase root of the suite as IMAGE; return how long debootstrap took."""
    root = work / "root"
    start = time.monotonic()
    proc = _run(["debootstrap", "--variant=minbase", suite, str(root), mirror])
    elapsed = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"FAIL: debootstrap {suite} from {mirror}: {(proc.stderr or proc.stdout).strip()[-400:]}")
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    imported = subprocess.run(["docker", "import", "-", IMAGE], stdin=tar.stdout, capture_output=True, text=True,
                              check=False)
    tar.wait()
    if imported.returncode or tar.returncode:
        raise SystemExit(f"FAIL: docker import of the minbase root: {imported.stderr.strip()}")
    return elapsed


def time_packages(packages: list[str]) -> tuple[float, float, int]:
    """apt-get update and install of the packages in a new container of IMAGE."""
    proc = _run(["docker", "run", "--rm", IMAGE, "sh", "-c", APT_SCRIPT, "apt", *packages])
    if proc.returncode:
        raise SystemExit(f"FAIL: apt-get install {' '.join(packages)} in a fresh container:\n{proc.stderr[-800:]}")
    return parse_apt(proc.stdout)


def setup_venv_argv(demo: bool) -> list[str]:
    """scripts/setup.sh's virtualenv step alone, for a profile: the venv the bench times is made by the
    same commands and pip options as `make demo`'s (or `make setup`'s)."""
    return ["bash", str(REPO / "scripts" / "setup.sh"), "--venv-only", *(["--demo"] if demo else [])]


def time_venv(demo: bool, venv: Path) -> tuple[float, int]:
    """Seconds for setup.sh to make a virtualenv at venv for a profile, without pip's cache; dists."""
    env = dict(os.environ, VENV=str(venv), PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    argv = setup_venv_argv(demo)
    start = time.monotonic()
    proc = _run(argv, env=env)
    elapsed = time.monotonic() - start
    if proc.returncode:
        raise SystemExit(f"FAIL: {' '.join(argv)}:\n{proc.stderr[-800:]}")
    dists = len(_run([str(venv / "bin" / "pip"), "list", "--format=freeze"], env=env).stdout.split())
    return elapsed, dists


def time_demo(work: Path, venv: Path) -> tuple[float, dict[str, float]]:
    """The demo's playbook from nothing, run as bench_demo runs it with this checkout as nested.hosts
    and the ansible-playbook of the virtualenv just made (so its modules' first compile is counted):
    demo_clean, the demo's images removed, then demo.yml with profile_roles."""
    env = dict(bench_demo.playbook_env(_bench.link_collection(work)), ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_roles")
    inventory = bench_demo.DEMO_ARGV[:-1]  # without the playbook
    playbook = str(venv / "bin" / "ansible-playbook")
    bench_demo.run_playbook([*inventory, "playbooks/demo_clean.yml"], env)
    _run(["docker", "image", "rm", "-f", *DEMO_IMAGES])
    elapsed, _recap, out = bench_demo.run_playbook(bench_demo.DEMO_ARGV, env, ansible_playbook=playbook)
    return elapsed, parse_profile_roles(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--demo", action="store_true",
                        help="also run the demo from nothing (removes the demo and its images first)")
    parser.add_argument("--goal", type=float, default=GOAL_S, help="goal for the whole first run, seconds")
    parser.add_argument("--suite", default="bookworm", help="Debian suite of the fresh container")
    parser.add_argument("--mirror", default="http://deb.debian.org/debian", help="Debian mirror for debootstrap")
    args = parser.parse_args()
    for tool in ("docker", "debootstrap", "tar"):
        if shutil.which(tool) is None:
            print(f"FAIL: bench_first_run needs {tool} on PATH", file=sys.stderr)
            return 2
    if _run(["docker", "info"]).returncode:
        print("FAIL: bench_first_run needs a running Docker engine (docker info fails)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nhbench-first-run-"))
    try:
        boot_s = make_fresh_image(args.suite, args.mirror, work)
        print(f"fresh root: debootstrap --variant=minbase {args.suite}: {boot_s:.1f} s")
        parts: dict[str, tuple[float, float, int]] = {}
        for name, demo in (("demo share", True), ("full set", False)):
            packages = setup_packages(demo)
            parts[name] = time_packages(packages)
            update, install, unpacked = parts[name]
            print(f"packages, {name} ({len(packages)} asked, {unpacked} unpacked): update {update:.1f} s + "
                  f"install {install:.1f} s = {update + install:.1f} s")
        venvs: dict[str, float] = {}
        for name, demo in (("demo share", True), ("full set", False)):
            venvs[name], dists = time_venv(demo, work / f"venv-{'demo' if demo else 'full'}")
            print(f"virtualenv, {name} ({dists} distributions, scripts/setup.sh's pip install): "
                  f"{venvs[name]:.1f} s")
        demo_s = None
        if args.demo:
            demo_s, roles = time_demo(work, work / "venv-demo")
            print(f"demo from nothing: {demo_s:.1f} s; by role (profile_roles):")
            for role, secs in sorted(roles.items(), key=lambda item: -item[1]):
                print(f"  {role}: {secs:.1f} s")
    finally:
        _run(["docker", "image", "rm", "-f", IMAGE])
        shutil.rmtree(work, ignore_errors=True)
    update, install, _unpacked = parts["demo share"]
    packages_s, venv_s = update + install, venvs["demo share"]
    print(f"first make demo: {first_run_sum(packages_s, venv_s, demo_s)}")
    if demo_s is not None:
        total = packages_s + venv_s + demo_s
        verdict = "meets" if total <= args.goal else "misses"
        print(f"  ratio first run/goal ({args.goal:.0f} s): {total / args.goal:.2f} ({verdict} the goal <= 1)")
    full_update, full_install, _full_unpacked = parts["full set"]
    print(f"  (make setup's full set instead: packages {full_update + full_install:.1f} s, "
          f"virtualenv {venvs['full set']:.1f} s)")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"load average (1/5/15 min) after the runs: {load} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
