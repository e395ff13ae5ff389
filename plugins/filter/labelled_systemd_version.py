# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.labelled_systemd_version filter: the systemd version a node image's labels give."""

from __future__ import annotations

DOCUMENTATION = r"""
name: labelled_systemd_version
short_description: The systemd version a node image's labels give, when they hold for that image
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - P(nested.hosts.node_image#role) labels its images with the systemd version C(systemctl --version) prints in them
    (C(io.nested-hosts.systemd-version)) and the layer it was read from (C(io.nested-hosts.systemd-version-layer)).
  - Returns the version as an integer when the image's top layer is that layer, else V(null). An image built FROM a
    node image inherits the labels, but layers of its own may hold another systemd, so it gets V(null) and must be
    probed; one that only adds labels or settings keeps the version.
options:
  _input:
    description: One image as C(docker image inspect) gives it (an element of M(community.docker.docker_image_info)'s C(images)).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Read the systemd version of a node image without starting a container
  ansible.builtin.set_fact:
    my_systemd_version: "{{ my_image_info.images[0] | nested.hosts.labelled_systemd_version }}"
"""

RETURN = r"""
_value:
  description: The systemd version, or V(null) when the labels are missing, malformed, or written for other layers.
  type: int
"""

from ansible_collections.nested.hosts.plugins.module_utils._recipe import labelled_systemd_version


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"labelled_systemd_version": labelled_systemd_version}
