# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.container_options filter: docker_container parameters from nesting_facts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: container_options
short_description: community.docker.docker_container parameters that let Docker nest, from nesting_facts
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Turns a M(nested.hosts.nesting_facts) result into the docker_container parameters C(privileged),
    C(capabilities), C(cap_drop), C(security_opts), C(device_cgroup_rules), C(cgroupns_mode) and C(volumes),
    with your overrides on top.
  - Plain C(privileged=true) where the capability bounding set is full; the privileged-equivalent set where it is
    short; the writable cgroup mount on cgroup v1. Keys that are not docker_container parameters never leak through.
options:
  _input:
    description: A M(nested.hosts.nesting_facts) result (registered) taken on the host that runs the container.
    type: dict
    required: true
  overrides:
    description: Replaces whole keys of the recommendation; only the parameters listed above.
    type: dict
    default: {}
  extra_volumes:
    description: Volumes appended to the recommended ones (for example C(NAME:/var/lib/docker)).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
---
- name: Read what this host allows
  nested.hosts.nesting_facts:
  register: facts

- name: Start a container that can run Docker inside
  community.docker.docker_container: "{{ params }}"
  vars:
    # A variable, not an inline template: key=value text inside free-form arguments would be split.
    params: >-
      {{ {'name': 'builder', 'image': 'docker:dind', 'state': 'started'}
         | combine(facts | nested.hosts.container_options(extra_volumes=['builder-lib:/var/lib/docker'])) }}
"""

RETURN = r"""
_value:
  description: The docker_container parameters; C(cgroupns_mode) only when the facts or overrides set it.
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.nested.hosts.plugins.module_utils._options import OptionsError
from ansible_collections.nested.hosts.plugins.module_utils._options import container_options as _container_options


def container_options(facts, overrides=None, extra_volumes=None):
    """docker_container parameters from a nesting_facts result plus overrides."""
    try:
        return _container_options(facts, overrides, extra_volumes or ())
    except OptionsError as exc:
        raise AnsibleFilterError(f"container_options: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"container_options": container_options}
