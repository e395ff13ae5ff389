# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.dpkg_missing filter: the wanted packages dpkg does not show installed."""

from __future__ import annotations

DOCUMENTATION = r"""
name: dpkg_missing
short_description: The wanted Debian packages that one dpkg-query does not show installed
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Takes the standard output of C(dpkg-query --show --showformat='${Package}\t${Version}\t${db:Status-Status}\n' NAME...)
    (the command P(nested.hosts.dpkg_query_argv#filter) gives) and the list of packages a role needs, and returns
    the ones that are not installed, in their order.
  - The roles run apt, with its cache update, only when this list is not empty, so a converged host answers with
    one dpkg-query.
  - An entry may carry C(:ARCH) or C(=VERSION) as apt takes them. A pinned entry counts as installed only when dpkg
    reports exactly that version. An entry with a wildcard is always returned, since only apt can resolve it.
options:
  _input:
    description: The standard output of that dpkg-query (lines for packages dpkg does not know are simply absent).
    type: str
    required: true
  wanted:
    description: The package names the role needs.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
---
- name: Ask dpkg about every package at once
  ansible.builtin.command:
    argv: "{{ my_packages | nested.hosts.dpkg_query_argv }}"
  register: my_dpkg
  changed_when: false
  failed_when: my_dpkg.rc not in [0, 1]
  check_mode: false

- name: Install only when something is missing
  ansible.builtin.apt:
    name: "{{ my_packages }}"
    update_cache: true
  when: my_dpkg.stdout | nested.hosts.dpkg_missing(my_packages) | length > 0
"""

RETURN = r"""
_value:
  description: The entries of O(wanted) that are not installed (or not at the pinned version).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.nested.hosts.plugins.module_utils._packages import PackageQueryError, dpkg_missing


def _dpkg_missing(dpkg_output, wanted):
    try:
        return dpkg_missing(dpkg_output, wanted)
    except PackageQueryError as exc:
        raise AnsibleFilterError(f"nested.hosts.dpkg_missing: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"dpkg_missing": _dpkg_missing}
