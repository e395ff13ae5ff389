# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The image a tag names, picked out of ``docker image inspect`` results already read.

The roles inspect the images of a Docker daemon once (``community.docker.docker_image_info``) and
hand the results on (the ``*_known_images`` variables), so that a role finds the image it needs
among them instead of asking the daemon again. An image is found by one of its ``RepoTags``,
compared exactly as Docker spells them (``REPOSITORY:TAG``, with no ``docker.io/`` or ``library/``
in front of Docker Hub names). A name without ``:TAG`` is not taken to mean ``:latest``: it matches
no tag, so such a name is only ever resolved by the daemon (a lookup), never guessed here.
"""

from __future__ import annotations

import typing as t


class ImageLookupError(ValueError):
    """The arguments are not a list of image inspect results and an image name."""


def _tags(image: t.Mapping[str, t.Any]) -> t.Sequence[t.Any]:
    """The ``RepoTags`` of one inspect result; none for an untagged image (``[]`` or null)."""
    tags = image.get("RepoTags")
    if tags is None:
        return ()
    if isinstance(tags, (str, bytes)) or not isinstance(tags, t.Sequence):
        raise ImageLookupError(f"an image's RepoTags must be a list of tags, not {type(tags).__name__}")
    return tags


def known_image(images: t.Any, name: t.Any) -> t.Mapping[str, t.Any]:
    """The first of ``images`` whose ``RepoTags`` hold ``name``, or an empty mapping when none does."""
    if isinstance(images, (str, bytes, t.Mapping)) or not isinstance(images, t.Sequence):
        raise ImageLookupError(
            f"the input must be a list of image inspect results (docker_image_info's images), not {type(images).__name__}"
        )
    if not isinstance(name, str) or not name:
        raise ImageLookupError(f"the image name must be a non-empty REPOSITORY:TAG, not {name!r}")
    for image in images:
        if not isinstance(image, t.Mapping):
            raise ImageLookupError(f"every image must be an inspect result (a mapping), not {type(image).__name__}")
        if name in _tags(image):
            return image
    return {}


def image_ids(images: t.Any, names: t.Any) -> dict[str, str]:
    """Map each of ``names`` to the ``Id`` of the image of ``images`` it tags, ``""`` for a name none tags.

    A record of image IDs tells an image someone built later under the same name from the one
    recorded: the name alone cannot.
    """
    if isinstance(names, (str, bytes, t.Mapping)) or not isinstance(names, t.Sequence):
        raise ImageLookupError(f"the names must be a list of REPOSITORY:TAG, not {type(names).__name__}")
    ids: dict[str, str] = {}
    for name in names:
        image = known_image(images, name)
        image_id = image.get("Id", "") if image else ""
        if not isinstance(image_id, str):
            raise ImageLookupError(f"the image tagged {name} has an Id that is not a string: {image_id!r}")
        ids[name] = image_id
    return ids
