# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one formula behind every image's rebuild-on-change label, and the labels read off images.

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


SYSTEMD_VERSION_LABEL = "io.nested-hosts.systemd-version"
SYSTEMD_VERSION_LAYER_LABEL = "io.nested-hosts.systemd-version-layer"


def labelled_systemd_version(image: t.Any) -> int | None:
    """The systemd version an image's labels give, or None when they do not hold for this image.

    ``image`` is one image as ``docker image inspect`` (community.docker.docker_image_info) gives
    it. The version holds only when the layer it was read from is the image's top layer: an image
    built FROM a labelled one inherits its labels, and its own layers may hold another systemd
    (one that only adds labels or settings keeps the filesystem, and the version). None when a
    label is missing or malformed, or the image has no layers.
    """
    if not isinstance(image, t.Mapping):
        return None
    labels = (image.get("Config") or {}).get("Labels") or {}
    layers = (image.get("RootFS") or {}).get("Layers") or []
    version = labels.get(SYSTEMD_VERSION_LABEL)
    layer = labels.get(SYSTEMD_VERSION_LAYER_LABEL)
    if not isinstance(version, str) or not version.isdigit() or not isinstance(layer, str):
        return None
    if not layers or layers[-1] != layer:
        return None
    return int(version)
