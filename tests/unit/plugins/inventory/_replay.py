# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Replay recorded ``docker ps`` / ``docker inspect`` answers to the inventory plugin's discovery.

A recording is a directory ``tests/unit/fixtures/inventory/<case>/`` written by
``tests/unit/fixtures/inventory/record.py``: ``source.nested.yml`` (the source it was captured
with), ``calls.yml`` (every command discovery ran: endpoint, chain, argv, exit code, stderr and the
file holding its stdout) and the stdout files under ``endpoint-<n>/<container>/.../``.
"""
from __future__ import annotations

import typing as t
from pathlib import Path

import yaml

from ansible_collections.nested.hosts.plugins.module_utils import _chain, _discovery
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

INVENTORY = FIXTURES / "inventory"


class UnrecordedCall(AssertionError):
    """Discovery asked for something the recording does not hold."""


class Replay:
    def __init__(self, case: str | Path) -> None:
        self.root = case if isinstance(case, Path) else INVENTORY / case
        self.source = yaml.safe_load((self.root / "source.nested.yml").read_text())
        self.first_hops = [_chain.make_first_hop(e) for e in self.source["endpoints"]]
        self.answers: dict[tuple[int, tuple[str, ...], tuple[str, ...]], _discovery.RunResult] = {}
        for call in yaml.safe_load((self.root / "calls.yml").read_text()):
            stdout = (self.root / call["stdout"]).read_text() if call.get("stdout") else ""
            key = (call["endpoint"], tuple(call["chain"]), tuple(call["command"]))
            self.answers[key] = _discovery.RunResult(call["rc"], stdout, call.get("stderr") or "")
        self.calls: list[tuple[int, tuple[str, ...], tuple[str, ...]]] = []

    def endpoint_of(self, first_hop: _chain.FirstHop) -> int:
        for index, hop in enumerate(self.first_hops):
            if hop == first_hop:
                return index
        raise UnrecordedCall(f"no recorded endpoint has the first hop {first_hop}")

    def __call__(
        self, first_hop: _chain.FirstHop, chain: t.Sequence[str], command: t.Sequence[str]
    ) -> _discovery.RunResult:
        key = (self.endpoint_of(first_hop), tuple(chain), tuple(command))
        self.calls.append(key)
        try:
            return self.answers[key]
        except KeyError:
            raise UnrecordedCall(f"not recorded: endpoint {key[0]}, chain {list(chain)}, {list(command)}") from None

    def chains_listed(self) -> set[tuple[int, tuple[str, ...]]]:
        """(endpoint, chain) of every docker ps discovery ran."""
        return {(e, c) for e, c, cmd in self.calls if tuple(cmd) == _discovery.PS_ARGV}
