# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base image from Debian's mirror with each bootstrap tool (base_image_bootstrap_tool).

Run from the repository root:  .venv/bin/python benchmarks/bench_base_image.py [--runs N] [--suite S]

Builds the base_image role's default recipe (its debootstrap source, default packages) for real
with debootstrap and with mmdebstrap, into ``nhbench-base/base:<tool>``, ``--runs`` rounds that
each build with both tools (the order alternates, so that a mirror or page cache warmed by one
build helps both alike). Each build is a whole role run with ansible.posix.profile_tasks; printed
per tool: the role's wall time, its bootstrap step and the image size, then the ratio of
mmdebstrap to debootstrap for both. The images are removed afterwards. Needs a running dockerd,
ansible-playbook, both tools and the package mirror.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it
import bench_demo  # the measured ansible-playbook run and profile_tasks parsing

TOOLS = ("debootstrap", "mmdebstrap")
REPO_NAME = "nhbench-base/base"
STEP = "Bootstrap the root filesystem with "

PLAY = """---
- name: Build the base image with {tool}
  hosts: localhost
  gather_facts: false
  roles:
    - role: nested.hosts.base_image
      vars:
        base_image_name: {name}
        base_image_tag: {tool}
        base_image_source: debootstrap
        base_image_bootstrap_tool: {tool}
        base_image_suite: {suite}
        base_image_force: true
        base_image_work_dir: {work}
"""


def order(runs: int) -> list[tuple[int, str]]:
    """(round, tool) in the order they run: the tools alternate which goes first."""
    return [(r, tool) for r in range(runs) for tool in (TOOLS if r % 2 == 0 else TOOLS[::-1])]


def bootstrap_seconds(rows: list[tuple[str, float]], tool: str) -> float:
    """The bootstrap step's time in profile_tasks' rows (one row per task)."""
    found = [secs for task, secs in rows if task.split(" : ")[-1].startswith(STEP + tool)]
    if len(found) != 1:
        raise ValueError(f"expected one '{STEP}{tool}' task in the profile, found {len(found)}")
    return found[0]


def ratios(results: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """mmdebstrap's median over debootstrap's, for each measured quantity."""
    return {what: statistics.median(results["mmdebstrap"][what]) / statistics.median(results["debootstrap"][what])
            for what in results["debootstrap"]}


def _image_size(tool: str) -> float:
    proc = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", f"{REPO_NAME}:{tool}"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=1, help="rounds, each building with both tools")
    parser.add_argument("--suite", default="bookworm", help="Debian suite to bootstrap")
    args = parser.parse_args()
    problem = bench_demo.docker_problem() or next(
        (f"{tool} is not installed (make setup installs it)" for tool in TOOLS if shutil.which(tool) is None), None)
    if problem:
        print(f"FAIL: {problem}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="nhbench-base-"))
    results: dict[str, dict[str, list[float]]] = {t: {"role": [], "bootstrap": []} for t in TOOLS}
    sizes: dict[str, float] = {}
    try:
        env = dict(bench_demo.playbook_env(_bench.link_collection(work)), **bench_demo.PROFILE_ENV)
        for rnd, tool in order(args.runs):
            play = work / f"{tool}.yml"
            play.write_text(PLAY.format(tool=tool, name=REPO_NAME, suite=args.suite, work=work), encoding="utf-8")
            elapsed, _recap, out = bench_demo.run_playbook(
                ["-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}", str(play)],
                env)
            step = bootstrap_seconds(bench_demo.parse_profile(out), tool)
            results[tool]["role"].append(elapsed)
            results[tool]["bootstrap"].append(step)
            sizes[tool] = _image_size(tool)
            print(f"round {rnd + 1} {tool}: role {elapsed:.1f} s, bootstrap step {step:.1f} s, "
                  f"image {sizes[tool]:.0f} MB", flush=True)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", *(f"{REPO_NAME}:{t}" for t in TOOLS)],
                       capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)
    for tool in TOOLS:
        print(f"{tool}: role median {statistics.median(results[tool]['role']):.1f} s, "
              f"bootstrap median {statistics.median(results[tool]['bootstrap']):.1f} s, image {sizes[tool]:.0f} MB")
    ratio = ratios(results)
    print(f"ratio mmdebstrap/debootstrap: role {ratio['role']:.2f}, bootstrap step {ratio['bootstrap']:.2f}, "
          f"image size {sizes['mmdebstrap'] / sizes['debootstrap']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
