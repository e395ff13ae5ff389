#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: EXE001  (ansible-test wants modules with a shebang but not executable)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: cgroup_info
short_description: Report the cgroup layout and whether a nested container runtime can use it
version_added: 0.1.0
description:
  - Reads C(/proc/<pid>/cgroup), C(/proc/<pid>/mountinfo), C(/proc/<pid>/ns/cgroup) and the C(cgroup.*)
    files at the root of the visible cgroup2 mount, and tells whether the host uses cgroup v1, v2 or
    a hybrid of both, which controllers are where, and whether a nested runtime (dockerd, runc, systemd)
    can create its own cgroups.
  - Read-only. Every file is read below O(proc_root) and O(sys_root).
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
  - nested.hosts.attributes.info_module
  - nested.hosts.kernel_roots
notes:
  - Where C(mountinfo) is missing below O(proc_root), C(mounts) is read instead (it shows no mount roots; a warning
    says so).
seealso:
  - module: nested.hosts.nesting_facts
"""

EXAMPLES = r"""
---
- name: Read the cgroup layout
  nested.hosts.cgroup_info:
  register: cgroups

- name: Stop when a nested runtime could not create cgroups
  ansible.builtin.assert:
    that: cgroups.nesting_ready
    fail_msg: "{{ cgroups.reasons | join(' ') }}"

- name: Analyse a captured tree
  nested.hosts.cgroup_info:
    proc_root: /tmp/capture/proc
    sys_root: /tmp/capture/sys
"""

RETURN = r"""
cgroup_version:
  description:
    - C(v1), C(v2) or C(hybrid) (v1 controllers plus a cgroup2 hierarchy) as the process sees it; null when nothing
      could be read.
    - Where mountinfo shows cgroup mounts they decide (a container on a hybrid host without a cgroup2 mount in its mount
      namespace is C(v1)); otherwise the process's cgroup file; with neither, the layout of C(sys/fs/cgroup) (a warning
      says so).
  returned: always
  type: str
  sample: hybrid
controllers:
  description:
    - Controller name (named v1 hierarchies as C(name=systemd)) to its C(version), C(hierarchy_id),
      C(path) (the process's cgroup) and C(mountpoint) (null when not mounted in this mount namespace).
    - Controllers of a joint hierarchy such as C(cpu,cpuacct) share one hierarchy id.
  returned: always
  type: dict
  sample:
    memory: {version: v1, hierarchy_id: 4, path: /, mountpoint: /sys/fs/cgroup/memory}
devices_own_hierarchy:
  description: On v1/hybrid, false when C(devices) shares its hierarchy with another controller; null on v2.
  returned: always
  type: bool
cgroupns:
  description:
    - C(private), C(host) or C(unknown), from C(ns/cgroup), else from the cgroup paths and the roots of the cgroup
      mounts in mountinfo (a path or mount root above the namespace root is C(private), a full path equal to a mount
      root is C(host)).
    - M(nested.hosts.nesting_facts) also infers C(private) inside a container whose every cgroup path is C(/).
  returned: always
  type: str
cgroupns_evidence:
  description: The sentence explaining RV(cgroupns).
  returned: always
  type: str
v2_delegation:
  description:
    - On v2/hybrid with a cgroup2 mount, the state of its visible root; null on v1.
    - With neither the cgroup file nor mountinfo, read where the layout of C(sys/fs/cgroup) puts cgroup2.
  returned: always
  type: dict
  contains:
    mountpoint:
      description: Where cgroup2 is mounted.
      type: str
    available:
      description: Controllers listed in C(cgroup.controllers).
      type: list
      elements: str
    subtree_control:
      description: Controllers enabled in C(cgroup.subtree_control).
      type: list
      elements: str
    root_has_processes:
      description: Whether C(cgroup.procs) of the visible root lists processes.
      type: bool
writable:
  description: Whether every cgroup mount a nested runtime would create children in is mounted read-write.
  returned: always
  type: bool
nesting_ready:
  description: True when RV(reasons) is empty.
  returned: always
  type: bool
reasons:
  description: One plain sentence per problem.
  returned: always
  type: list
  elements: str
reason_ids:
  description:
    - The stable id of each entry of RV(reasons), in the same order; match these, never the sentences.
    - C(cgroup-file-unreadable), C(mountinfo-unreadable), C(cgroup-not-mounted), C(cgroup-read-only),
      C(devices-controller-shared), C(cgroup-v1-controller-unavailable), C(cgroup-v1-controller-unmounted),
      C(cgroup-v2-controller-not-delegated), C(cgroup-v2-root-has-processes).
  returned: always
  type: list
  elements: str
  sample: [cgroup-read-only]
  version_added: 0.1.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nested.hosts.plugins.module_utils._cgroup import gather
from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    kernel_argument_spec,
    option_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=kernel_argument_spec(),
        supports_check_mode=True,
    )
    params = module.params
    for error in option_errors(params):
        module.fail_json(msg=error)
    result, warnings = gather(params["proc_root"], params["sys_root"], params["pid"])
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
