# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.child_connection filter: connection variables of a container one level down."""

from __future__ import annotations

DOCUMENTATION = r"""
name: child_connection
short_description: Host variables that reach a container running on a given host's Docker daemon
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Given the variables of a host (C(hostvars[inventory_hostname])) and the name of a container that runs on that
    host's Docker daemon, returns the host variables that reach the container with the
    P(nested.hosts.nested#connection) connection plugin, at any depth.
  - The parent's connection decides the first hop. A parent on the controller (C(local)) gives a local first hop.
    A parent reached over SSH gives an SSH first hop with the same address, port, user, key and SSH arguments, so the
    container is reachable from the controller wherever the parent is. A parent that is itself a container
    (C(community.docker.docker) or C(nested.hosts.nested)) gives the parent's chain plus the container.
  - The roles use it when they add nodes and Docker-in-Docker containers to the inventory; use it with
    M(ansible.builtin.add_host) for containers you start yourself.
options:
  _input:
    description: The parent host's variables, usually C(hostvars[inventory_hostname]).
    type: dict
    required: true
  name:
    description: Name or ID of the container on the parent's Docker daemon.
    type: str
    required: true
  python:
    description: Python interpreter inside the container (C(ansible_python_interpreter)).
    type: str
    default: /usr/bin/python3
  connection:
    description:
      - The parent's connection, when it is not in its host variables (a play's C(connection) keyword).
      - Unset, the parent's C(ansible_connection) is used, and a parent without one counts as reached over SSH.
    type: str
"""

EXAMPLES = r"""
---
- name: Add a container started on this host to the inventory, reachable from the controller
  ansible.builtin.add_host: "{{ web_host }}"
  vars:
    # A variable, not an inline template: key=value text inside free-form arguments would be split.
    web_host: >-
      {{ {'name': 'web-1', 'groups': ['web']}
         | combine(hostvars[inventory_hostname] | nested.hosts.child_connection('web-1', connection=ansible_connection | default(none))) }}
"""

RETURN = r"""
_value:
  description:
    - C(ansible_connection=nested.hosts.nested), C(ansible_host), C(ansible_nested_chain) (outermost first),
      C(ansible_python_interpreter) and the C(ansible_nested_*) first-hop variables that are set.
  type: dict
"""

from collections import ChainMap

from ansible.errors import AnsibleFilterError

from ansible_collections.nested.hosts.plugins.module_utils._chain import ChainError, child_vars


def child_connection(parent, name, python="/usr/bin/python3", connection=None):
    """Connection variables of container ``name`` running on the daemon of the host with variables ``parent``."""
    if not isinstance(parent, dict) and not hasattr(parent, "get"):
        raise AnsibleFilterError(
            f"child_connection: the input must be the parent host's variables (hostvars[inventory_hostname]), "
            f"got {type(parent).__name__}"
        )
    if connection:
        # hostvars[...] is a read-only mapping; layer the connection over it instead of copying every variable.
        parent = ChainMap({"ansible_connection": connection}, parent)
    try:
        return child_vars(parent, name, python=python)
    except ChainError as exc:
        raise AnsibleFilterError(f"child_connection: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"child_connection": child_connection}
