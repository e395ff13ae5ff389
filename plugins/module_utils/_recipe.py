# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one formula behind every image's rebuild-on-change label.

An image role describes what its image is made of (a version, the base image's ID, the hashes
of the files it copies in, package lists, ...) as a mapping; the image is rebuilt when the hash
of that mapping differs from the one in the image's label. The hash is SHA-256 over the mapping
as JSON with sorted keys and ``json.dumps``'s default separators, which is exactly what Ansible's
``to_json(sort_keys=True) | hash('sha256')`` gives, so labels written before this module existed
still match.
"""

from __future__ import annotations

import hashlib
import json
import typing as t


class RecipeError(ValueError):
    """The recipe is not a mapping of JSON values."""


def recipe_hash(recipe: t.Mapping[str, t.Any]) -> str:
    """SHA-256 (hex) of ``recipe`` as JSON with sorted keys."""
    if not isinstance(recipe, t.Mapping):
        raise RecipeError(f"the recipe must be a mapping of its parts, not {type(recipe).__name__}")
    try:
        text = json.dumps(dict(recipe), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"every part of the recipe must be a JSON value (string, number, list, mapping): {exc}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
