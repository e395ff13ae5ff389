# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.image_ids filter: the image ID each of some tags names, among inspect results already read."""

from __future__ import annotations

DOCUMENTATION = r"""
name: image_ids
short_description: The image ID each of some tags names, among docker image inspect results already read
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Given a list of image inspect results (the C(images) of M(community.docker.docker_image_info)) and a list of
    image names, returns a dictionary that maps each name to the C(Id) of the image it tags, or to an empty
    string when no image has that tag.
  - A name is matched as P(nested.hosts.known_image#filter) matches it, exactly against C(RepoTags).
  - The demo playbook (C(nested.hosts.demo)) records the IDs of the images it built with it, and
    C(nested.hosts.demo_clean) removes a name only while it still tags the image the demo recorded, so an
    image someone built later under the same name stays.
options:
  _input:
    description: Image inspect results, as M(community.docker.docker_image_info) returns them in C(images).
    type: list
    elements: dict
    required: true
  names:
    description: The images, each C(REPOSITORY:TAG).
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
---
- name: Inspect the images once
  community.docker.docker_image_info:
    name: [my/base:bookworm, my/app:1.0]
  register: my_images

- name: Keep their IDs
  ansible.builtin.set_fact:
    my_image_ids: "{{ my_images.images | nested.hosts.image_ids(['my/base:bookworm', 'my/app:1.0']) }}"
"""

RETURN = r"""
_value:
  description: Each name, mapped to the image ID it names (C(sha256:...)), or to an empty string when no image has it.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.nested.hosts.plugins.module_utils._images import ImageLookupError
from ansible_collections.nested.hosts.plugins.module_utils._images import image_ids as _image_ids


def image_ids(images, names):
    """Each of ``names`` mapped to its image ID, ``""`` when no image has it."""
    try:
        return _image_ids(images, names)
    except ImageLookupError as exc:
        raise AnsibleFilterError(f"nested.hosts.image_ids: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"image_ids": image_ids}
