# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.dpkg_query_argv filter: the dpkg-query command whose output dpkg_missing reads."""

from __future__ import annotations

DOCUMENTATION = r"""
name: dpkg_query_argv
short_description: The one dpkg-query command whose output the dpkg_missing filter reads
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Returns the argv of C(dpkg-query --show --showformat='${Package}\t${Version}\t${db:Status-Status}\n' NAME...)
    for the packages a role needs, for the C(argv) of M(ansible.builtin.command). Its standard output is the input of
    P(nested.hosts.dpkg_missing#filter).
  - Each package is asked about once, by name (with its C(:ARCH) if given). A C(=VERSION) pin is dropped from the
    command, since dpkg-query would take C(NAME=VERSION) for the name of a package it does not know;
    P(nested.hosts.dpkg_missing#filter) compares the pinned version with the installed one. Wildcards are passed on.
  - dpkg-query prints a line for each package it knows and exits with 1 when one is unknown (naming it on standard
    error), so the task must accept return code 1 (C(failed_when) on C(rc not in [0, 1])); an unknown package is
    absent from the output, and P(nested.hosts.dpkg_missing#filter) reports it missing.
  - The task only reads, so it can run in check mode too (set its C(check_mode) to V(false)).
options:
  _input:
    description: The package names the role needs, as given to P(nested.hosts.dpkg_missing#filter).
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
# What to do with my_dpkg.stdout: see the nested.hosts.dpkg_missing filter's example.
"""

RETURN = r"""
_value:
  description: The argv, C(dpkg-query), C(--show), the C(--showformat=...) argument, then each package name of the input once.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.nested.hosts.plugins.module_utils._packages import PackageQueryError
from ansible_collections.nested.hosts.plugins.module_utils._packages import dpkg_query_argv as _dpkg_query_argv


def dpkg_query_argv(wanted):
    """The dpkg-query argv that asks about every package of ``wanted`` at once."""
    try:
        return _dpkg_query_argv(wanted)
    except PackageQueryError as exc:
        raise AnsibleFilterError(f"nested.hosts.dpkg_query_argv: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"dpkg_query_argv": dpkg_query_argv}
