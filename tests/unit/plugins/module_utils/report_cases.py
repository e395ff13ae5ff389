# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Records for the report tests, made of real ``nested.hosts.nesting_facts`` results.

Each level's facts are what nesting_facts computes on a captured tree of tests/unit/fixtures (the
dev VM, a systemd node on it, a privileged-equivalent container, Docker's default container, ...),
shaped as the module returns them (``changed`` and ``invocation`` included), never written by hand.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nested.hosts.tests.unit.helpers import captured

__all__ = ["HOST", "NESTED", "NODE", "PLAIN", "captured", "chain_records"]

# The levels of the demo's depth-3 chain, by the capture that stands for each.
HOST = "host-debian12-hybrid-vm"  # the dev VM: cgroup v1 hybrid, no AppArmor, no CAP_SYS_RESOURCE
NODE = "systemd-node"  # a systemd node container started on it with the privileged-equivalent flags
NESTED = "docker-privileged-equivalent"  # a container started with those flags (the dind level and its child)
PLAIN = "docker-default"  # a container started with Docker's defaults: cannot nest


def chain_records() -> list[dict[str, Any]]:
    """host -> node (systemd node) -> dind -> container: the demo's depth-3 chain, given out of order."""
    return [
        {"host": "nh-c3", "depth": 3, "parent": "nh-dind", "method": None, "facts": captured(NESTED)},
        {"host": "localhost", "depth": 0, "parent": None, "method": "node", "facts": captured(HOST)},
        {"host": "nh-dind", "depth": 2, "parent": "nh-node1", "method": "dind", "facts": captured(NESTED)},
        {"host": "nh-node1", "depth": 1, "parent": "localhost", "method": "node", "facts": captured(NODE)},
    ]
