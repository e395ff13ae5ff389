#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: EXE001  (ansible-test wants modules with a shebang but not executable)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: apparmor_info
short_description: Report AppArmor availability, loaded profiles and the confinement of a process
version_added: 0.1.0
description:
  - Reads C(/sys/module/apparmor/parameters/enabled), C(/sys/kernel/security/apparmor/profiles),
    C(/proc/<pid>/attr/apparmor/current) (falling back to C(/proc/<pid>/attr/current)) and
    C(/proc/sys/kernel/apparmor_restrict_unprivileged_userns).
  - With O(expect_profile) it fails when that profile is not loaded (in O(expect_mode)), so a play can assert it.
  - Read-only. Every file is read below O(proc_root) and O(sys_root).
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
  - nested.hosts.attributes.info_module
  - nested.hosts.kernel_roots
options:
  expect_profile:
    description:
      - Name of a profile that must be loaded, for example C(docker-default).
    type: str
  expect_mode:
    description:
      - Mode O(expect_profile) must be loaded in.
      - Only used with O(expect_profile).
    type: str
    choices: [enforce, complain, kill, unconfined, prompt]
seealso:
  - module: nested.hosts.nesting_facts
"""

EXAMPLES = r"""
---
- name: Read the AppArmor state
  nested.hosts.apparmor_info:
  register: apparmor

- name: Fail unless docker-default is loaded in enforce mode
  nested.hosts.apparmor_info:
    expect_profile: docker-default
    expect_mode: enforce
  when: apparmor.available
"""

RETURN = r"""
available:
  description:
    - Whether the kernel exposes AppArmor (C(/sys/kernel/security/apparmor) or C(/sys/module/apparmor)), or the
      process carries an AppArmor label in C(attr/apparmor/current) (containers often do not mount those C(/sys) paths),
      or a C(name (mode)) label with an AppArmor mode in the shared C(attr/current); an SELinux context there
      (C(user:role:type:level)) is not AppArmor's.
  returned: always
  type: bool
  sample: false
enabled:
  description: Whether C(/sys/module/apparmor/parameters/enabled) is C(Y); false when not available.
  returned: always
  type: bool
profiles:
  description: Profile name to mode (C(enforce), C(complain), C(kill), C(unconfined), ...); empty when not available, null when unreadable.
  returned: always
  type: dict
  sample: {docker-default: enforce}
current:
  description: Confinement of O(pid), C({profile, mode}); C(unconfined) with a null mode when unconfined; null when not available.
  returned: always
  type: dict
  sample: {profile: docker-default, mode: enforce}
docker_default_loaded:
  description: Whether the C(docker-default) profile is loaded.
  returned: always
  type: bool
restrict_unprivileged_userns:
  description: Value of C(kernel.apparmor_restrict_unprivileged_userns) (Ubuntu 24.04 and later), else null.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nested.hosts.plugins.module_utils._apparmor import (
    check_expectation,
    gather,
)
from ansible_collections.nested.hosts.plugins.module_utils._kernel import (
    kernel_argument_spec,
    option_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=kernel_argument_spec(
            expect_profile={"type": "str"},
            expect_mode={"type": "str", "choices": ["enforce", "complain", "kill", "unconfined", "prompt"]},
        ),
        required_by={"expect_mode": "expect_profile"},
        supports_check_mode=True,
    )
    params = module.params
    for error in option_errors(params):
        module.fail_json(msg=error)
    result, warnings = gather(params["proc_root"], params["sys_root"], params["pid"])
    for warning in warnings:
        module.warn(warning)
    failure = check_expectation(result, params["expect_profile"], params["expect_mode"])
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
