# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.known_image filter: the image a tag names among inspect results already read."""

from __future__ import annotations

DOCUMENTATION = r"""
name: known_image
short_description: The image a tag names among docker image inspect results already read
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Given a list of image inspect results (the C(images) of M(community.docker.docker_image_info)) and an image name,
    returns the first image whose C(RepoTags) hold that name, or an empty dictionary when none does.
  - The roles pick images with it out of their own lookups and out of the lists their caller passes
    (O(nested.hosts.base_image#role:main:base_image_known_images),
    O(nested.hosts.node_image#role:main:node_image_known_images), O(nested.hosts.node#role:main:node_known_images),
    O(nested.hosts.docker_engine#role:seed_images:docker_engine_seed_known_images)), so an image read once in a run
    is not inspected again.
  - The name is compared exactly with the tags as Docker lists them, C(REPOSITORY:TAG) (Docker Hub images without
    C(docker.io/) or C(library/)). A name without C(:TAG) is not taken to mean C(:latest) and matches nothing.
  - An image with no C(RepoTags), or an empty or null one (an untagged image), matches no name.
options:
  _input:
    description: Image inspect results, as M(community.docker.docker_image_info) returns them in C(images).
    type: list
    elements: dict
    required: true
  name:
    description: The image, C(REPOSITORY:TAG).
    type: str
    required: true
"""

EXAMPLES = r"""
---
- name: Inspect the images once
  community.docker.docker_image_info:
    name: [my/base:bookworm, my/app:1.0]
  register: my_images

- name: Read the labels of one of them
  ansible.builtin.set_fact:
    my_app_labels: "{{ ((my_images.images | nested.hosts.known_image('my/app:1.0')).Config | default({}, true)).Labels }}"

- name: Fail when the base image is not there
  ansible.builtin.fail:
    msg: my/base:bookworm is missing
  when: my_images.images | nested.hosts.known_image('my/base:bookworm') | length == 0
"""

RETURN = r"""
_value:
  description: The matching inspect result as it is in the input, or an empty dictionary when no image has that tag.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.nested.hosts.plugins.module_utils._images import ImageLookupError
from ansible_collections.nested.hosts.plugins.module_utils._images import known_image as _known_image


def known_image(images, name):
    """The first of ``images`` tagged ``name``, or an empty dict."""
    try:
        return _known_image(images, name)
    except ImageLookupError as exc:
        raise AnsibleFilterError(f"nested.hosts.known_image: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"known_image": known_image}
