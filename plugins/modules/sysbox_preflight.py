#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: sysbox_preflight
short_description: Check whether a host can run Sysbox before installing it
version_added: 0.1.0
description:
  - Checks what the sysbox-ce package and its services need, each as one entry of RV(checks) with a
    message and a fix, without changing anything.
  - "Distribution and kernel: the package's matrix (Ubuntu 18.04 >= 5.3, 20.04 >= 5.4, 21.10 >= 5.13,
    22.04 >= 5.15, 24.04 >= 6.8, Debian 10/11 >= 5.5, others >= 5.5); architecture amd64 or arm64."
  - PID 1 is systemd; Docker is not the snap; C(/var/lib/docker) and C(/var/lib/sysbox) are on ext4 or btrfs.
  - ID-mapped mounts (kernel >= 5.12) or shiftfs, else a warning that bind mounts show as nobody:nogroup.
  - Sysctls C(kernel.unprivileged_userns_clone) (when present) is 1, C(user.max_user_namespaces) > 0, and
    the effect of C(kernel.apparmor_restrict_unprivileged_userns).
  - Suggests RV(bip) and RV(default_address_pools) that overlap no route of C(/proc/net/route), for
    pre-seeding C(daemon.json) so that the package never asks to remove containers.
  - Every file is read below O(proc_root), O(sys_root), O(fs_root) and O(os_release_path).
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
  - nested.hosts.attributes.info_module
  - nested.hosts.kernel_roots
options:
  fs_root:
    description: Directory read as the root filesystem when looking for a Docker snap (C(/snap/bin/docker), C(/var/snap/docker)).
    type: path
    default: /
  os_release_path:
    description: The os-release file to read.
    type: path
    default: /etc/os-release
  architecture:
    description:
      - Machine architecture as C(uname -m) prints it (C(x86_64), C(aarch64)).
      - Defaults to the architecture of the machine the module runs on.
    type: str
  pool_size:
    description: Prefix length of the networks dockerd carves out of the suggested address pool.
    type: int
    default: 24
seealso:
  - name: Sysbox installation requirements
    description: The host requirements this module checks.
    link: https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-package.md
"""

EXAMPLES = r"""
---
- name: Check the host before installing Sysbox
  nested.hosts.sysbox_preflight:
  register: sysbox_pre

- name: Show what blocks the install
  ansible.builtin.debug:
    msg: "{{ sysbox_pre.checks | rejectattr('ok') | map(attribute='message') | list }}"

- name: Evaluate a captured tree of another machine
  nested.hosts.sysbox_preflight:
    proc_root: /tmp/capture/proc
    sys_root: /tmp/capture/sys
    fs_root: /tmp/capture
    os_release_path: /tmp/capture/etc/os-release
    architecture: aarch64
"""

RETURN = r"""
ok:
  description: True when no check of severity C(error) failed.
  returned: always
  type: bool
  sample: false
checks:
  description: One entry per check, in a fixed order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Stable identifier such as C(kernel), C(pid1_systemd), C(fs_var_lib_sysbox).
      type: str
    ok:
      description: Whether the requirement is met.
      type: bool
    severity:
      description: C(error) blocks the install, C(warning) degrades it, C(info) is informational.
      type: str
    message:
      description: What was found.
      type: str
    fix:
      description: What to do about it (empty when the check passed).
      type: str
  sample:
    - {id: pid1_systemd, ok: false, severity: error, message: "PID 1 is bash, not systemd; ...", fix: "Run the install on a host ..."}
failed_checks:
  description: Ids of the failed checks of severity C(error).
  returned: always
  type: list
  elements: str
  sample: [pid1_systemd]
warning_checks:
  description: Ids of the failed checks of severity C(warning).
  returned: always
  type: list
  elements: str
  sample: []
distribution:
  description: C(ID) from os-release.
  returned: always
  type: str
  sample: debian
distribution_version:
  description: C(VERSION_ID) from os-release.
  returned: always
  type: str
  sample: "12"
kernel:
  description: The running kernel release.
  returned: always
  type: str
  sample: 6.1.0-26-amd64
package_architecture:
  description: Debian architecture of the package to install (C(amd64) or C(arm64)), null when unsupported.
  returned: always
  type: str
  sample: amd64
bip:
  description: Suggested C(bip) for daemon.json (the docker0 network when it exists).
  returned: always
  type: str
  sample: 172.17.0.1/16
default_address_pools:
  description: Suggested C(default-address-pools) for daemon.json.
  returned: always
  type: list
  elements: dict
  sample: [{"base": "172.25.0.0/16", "size": 24}]
network_reasons:
  description: Why each network was chosen.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    kernel_argument_spec,
    option_errors,
)
from ansible_collections.nested.hosts.plugins.module_utils._sysbox import preflight


def main() -> None:
    module = AnsibleModule(
        argument_spec=kernel_argument_spec(
            with_fs_root=True,
            os_release_path={"type": "path", "default": "/etc/os-release"},
            architecture={"type": "str"},
            pool_size={"type": "int", "default": 24},
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = option_errors(p)
    if not 16 <= p["pool_size"] <= 30:
        errors.append(f"pool_size={p['pool_size']} is outside 16..30; use a prefix length such as 24.")
    for error in filter(None, errors):
        module.fail_json(msg=error)
    machine = p["architecture"] or os.uname().machine
    try:
        result, warnings = preflight(p["proc_root"], p["sys_root"], p["fs_root"], p["os_release_path"], machine, p["pid"], p["pool_size"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
