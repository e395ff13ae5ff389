# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time each module_utils parser of cgroup_info / apparmor_info / nesting_facts on the largest captured input.

Run from the repository root:  .venv/bin/python benchmarks/bench_parsers.py [--repeat N]
Prints, per parser, the input used, the best per-call time over several rounds (µs) and the ratio to the
fastest parser, then the end-to-end gather() of each module on the largest tree.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

import _bench  # benchmarks/ is on the path of a script run from it

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "unit" / "fixtures"


_bench.import_collection()
from ansible_collections.nested.hosts.plugins.module_utils import (
    _apparmor,
    _cgroup,
    _kernel,
    _nesting,
)


def largest(pattern: str) -> Path | None:
    files = [
        p for p in FIXTURES.glob(pattern) if p.is_file() and "sysbox/" not in str(p)
    ]
    return max(files, key=lambda p: (p.stat().st_size, str(p)), default=None)


def best_per_call_us(func: Callable[[], object], repeat: int) -> float:
    timer = timeit.Timer(func)
    number = timer.autorange()[0]
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--repeat", type=int, default=5, help="timing rounds; the best is reported"
    )
    args = parser.parse_args()

    mountinfo = largest("*/proc/self/mountinfo")
    cgroup = largest("*/proc/self/cgroup")
    status = largest("*/proc/self/status")
    profiles = largest("*/sys/kernel/security/apparmor/profiles")
    if not (mountinfo and cgroup and status):
        print(
            "no captured trees under tests/unit/fixtures; nothing to time",
            file=sys.stderr,
        )
        return 1
    mi_text, cg_text, st_text = (
        mountinfo.read_text(),
        cgroup.read_text(),
        status.read_text(),
    )
    cap_bnd = _kernel.parse_status(st_text)["CapBnd"]
    tree = mountinfo.parents[2]  # <case>/proc/self/mountinfo -> <case>

    cases: list[tuple[str, str, Callable[[], object]]] = [
        (
            "_kernel.parse_mountinfo",
            f"{mountinfo.relative_to(FIXTURES)} ({len(mi_text.splitlines())} lines)",
            lambda: _kernel.parse_mountinfo(mi_text),
        ),
        (
            "_cgroup.parse_proc_cgroup",
            f"{cgroup.relative_to(FIXTURES)} ({len(cg_text.splitlines())} lines)",
            lambda: _cgroup.parse_proc_cgroup(cg_text),
        ),
        (
            "_kernel.parse_status",
            f"{status.relative_to(FIXTURES)}",
            lambda: _kernel.parse_status(st_text),
        ),
        (
            "_kernel.decode_capabilities",
            f"CapBnd {cap_bnd}",
            lambda: _kernel.decode_capabilities(cap_bnd),
        ),
        (
            "_cgroup.analyze",
            f"{tree.name} (cgroup + mountinfo)",
            lambda: _cgroup.analyze(cg_text, mi_text, None, None),
        ),
    ]
    if profiles is not None:
        pr_text = profiles.read_text()
        cases.append(
            (
                "_apparmor.parse_profiles",
                f"{profiles.relative_to(FIXTURES)}",
                lambda: _apparmor.parse_profiles(pr_text),
            )
        )
    else:
        print(
            "skipped _apparmor.parse_profiles: no captured tree has an AppArmor profiles file (this kernel has no AppArmor)"
        )

    end_to_end = [
        (
            "_cgroup.gather",
            lambda: _cgroup.gather(str(tree / "proc"), str(tree / "sys"), "self"),
        ),
        (
            "_apparmor.gather",
            lambda: _apparmor.gather(str(tree / "proc"), str(tree / "sys"), "self"),
        ),
        (
            "_nesting.gather",
            lambda: _nesting.gather(
                str(tree / "proc"), str(tree / "sys"), "self", str(tree)
            ),
        ),
    ]

    results = [
        (name, source, best_per_call_us(func, args.repeat))
        for name, source, func in cases
    ]
    fastest = min(result[2] for result in results)
    print(f"{'parser':30} {'µs/call':>10} {'x fastest':>10}  input")
    for name, source, us in results:
        print(f"{name:30} {us:10.2f} {us / fastest:10.1f}  {source}")

    print(f"\nend to end on {tree.name} (file reads included):")
    timed = [(name, best_per_call_us(func, args.repeat)) for name, func in end_to_end]
    base = dict(timed)["_cgroup.gather"]
    for name, us in timed:
        print(f"{name:30} {us:10.2f} {us / base:10.1f}  (x _cgroup.gather)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
