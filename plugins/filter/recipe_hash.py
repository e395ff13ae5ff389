# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.recipe_hash filter: the rebuild-on-change hash of an image recipe."""

from __future__ import annotations

DOCUMENTATION = r"""
name: recipe_hash
short_description: The hash an image role stores in its recipe label to decide whether to rebuild
version_added: 0.1.0
author: nested.hosts contributors (@nested-hosts)
description:
  - Hashes a mapping that describes what an image is made of (recipe version, base image ID, hashes of the files
    copied in, package lists). The P(nested.hosts.base_image#role), P(nested.hosts.dind#role) and
    P(nested.hosts.node_image#role) roles store it in a label and rebuild their image when it changes.
  - SHA-256 over the mapping as JSON with sorted keys; the same value as C(to_json(sort_keys=True) | hash('sha256')).
options:
  _input:
    description: The recipe, a mapping of JSON values (strings, numbers, booleans, lists, mappings).
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Rebuild my image when its Dockerfile or base image changes
  ansible.builtin.set_fact:
    my_recipe_hash: >-
      {{ {'recipe_version': 1,
          'base_id': base_info.images[0].Id,
          'dockerfile': lookup('ansible.builtin.file', 'Dockerfile') | hash('sha256')}
         | nested.hosts.recipe_hash }}
"""

RETURN = r"""
_value:
  description: The SHA-256 of the recipe, 64 lowercase hexadecimal digits.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.nested.hosts.plugins.module_utils._recipe import RecipeError
from ansible_collections.nested.hosts.plugins.module_utils._recipe import recipe_hash as _recipe_hash


def recipe_hash(recipe):
    """The rebuild-on-change hash of an image recipe."""
    try:
        return _recipe_hash(recipe)
    except RecipeError as exc:
        raise AnsibleFilterError(f"recipe_hash: {exc}") from None


class FilterModule:
    """nested.hosts filters."""

    def filters(self):
        return {"recipe_hash": recipe_hash}
