# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for module_utils/_images.py: the image a tag names among inspect results already read.

Its equality with the ``selectattr('RepoTags', 'contains', NAME)`` expressions the roles used
before is tested in tests/unit/plugins/filter/test_known_image.py, beside the filter (Ansible's
own code there needs a newer Python than the module code's floor)."""

from __future__ import annotations

import typing as t

import pytest
from ansible_collections.nested.hosts.plugins.module_utils._images import ImageLookupError, image_ids, known_image
from hypothesis import given
from hypothesis import strategies as st

# Trimmed from `docker image inspect` (Docker 20.10) on this project's Debian 12 machine: one image
# with two tags, a single-tag one, and an untagged one (RepoTags []).
NODE = {
    "Id": "sha256:6c06b0f6fa33f3c535d808991e68c2c91694b998278a2f7663b521a994cd7113",
    "RepoTags": ["nested-hosts/node:bookworm", "nhtest-node/node:bookworm"],
    "RepoDigests": [],
    "Config": {"Labels": {"io.nested-hosts.role": "node_image", "io.nested-hosts.systemd-version": "252"}},
}
BASE = {
    "Id": "sha256:04369db332ca27ddf720d67727bded5bc6bcc87812f033c8fa38e5f5328bac97",
    "RepoTags": ["nested-hosts/base:trixie"],
    "RepoDigests": [],
    "Config": {"Labels": {"io.nested-hosts.source": "debootstrap:debian/trixie"}},
}
UNTAGGED = {"Id": "sha256:11166ec881ae" + "0" * 52, "RepoTags": [], "RepoDigests": [], "Config": {"Labels": None}}
# Docker Hub images are listed without docker.io/ and library/.
DEBIAN = {"Id": "sha256:" + "d" * 64, "RepoTags": ["debian:bookworm-slim"], "RepoDigests": ["debian@sha256:" + "e" * 64]}
IMAGES = [UNTAGGED, NODE, BASE, DEBIAN]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nested-hosts/node:bookworm", NODE),
        ("nhtest-node/node:bookworm", NODE),
        ("nested-hosts/base:trixie", BASE),
        ("debian:bookworm-slim", DEBIAN),
    ],
    ids=["first-tag", "second-tag", "single-tag", "docker-hub"],
)
def test_an_image_is_found_by_any_of_its_tags(name: str, expected: dict[str, t.Any]) -> None:
    assert known_image(IMAGES, name) is expected


@pytest.mark.parametrize(
    "name",
    [
        # no tag given: not taken to mean :latest (nothing here is :latest anyway, see the next test)
        "nested-hosts/node",
        "debian",
        # the full spelling of a Docker Hub name is not the one RepoTags use
        "docker.io/library/debian:bookworm-slim",
        "library/debian:bookworm-slim",
        # exact, not a prefix, a substring or case-insensitive
        "nested-hosts/node:book",
        "node:bookworm",
        "Nested-Hosts/Node:Bookworm",
        "nested-hosts/node:trixie",
        # an image ID or digest is not a tag
        "sha256:6c06b0f6fa33f3c535d808991e68c2c91694b998278a2f7663b521a994cd7113",
        "debian@sha256:" + "e" * 64,
    ],
)
def test_only_an_exact_tag_matches(name: str) -> None:
    assert known_image(IMAGES, name) == {}


def test_a_name_without_a_tag_does_not_mean_latest() -> None:
    latest = {**NODE, "RepoTags": ["nested-hosts/node:latest"]}
    assert known_image([latest], "nested-hosts/node") == {}
    assert known_image([latest], "nested-hosts/node:latest") is latest


def test_the_first_image_with_the_tag_wins() -> None:
    # A list can hold one image twice (the caller's results, then a lookup's): the first is taken.
    again = {**NODE, "Id": "sha256:" + "f" * 64}
    assert known_image([BASE, NODE, again], "nested-hosts/node:bookworm") is NODE


@pytest.mark.parametrize(
    "untagged",
    [{"Id": "sha256:x", "RepoTags": []}, {"Id": "sha256:x", "RepoTags": None}, {"Id": "sha256:x"}, {}],
    ids=["empty", "null", "absent", "empty-result"],
)
def test_an_untagged_image_matches_nothing(untagged: dict[str, t.Any]) -> None:
    assert known_image([untagged], "nested-hosts/node:bookworm") == {}
    assert known_image([untagged, NODE], "nested-hosts/node:bookworm") is NODE


def test_no_images_means_not_found() -> None:
    assert known_image([], "nested-hosts/node:bookworm") == {}
    assert known_image((), "nested-hosts/node:bookworm") == {}


def test_the_image_is_returned_as_it_is() -> None:
    found = known_image(IMAGES, "nested-hosts/base:trixie")
    assert found is BASE
    assert found["Config"]["Labels"]["io.nested-hosts.source"] == "debootstrap:debian/trixie"


@pytest.mark.parametrize(
    ("images", "name", "message"),
    [
        (None, "a:b", "a list of image inspect results (docker_image_info's images), not NoneType"),
        ("a:b", "a:b", "a list of image inspect results (docker_image_info's images), not str"),
        (NODE, "a:b", "a list of image inspect results (docker_image_info's images), not dict"),
        ({"images": [NODE]}, "a:b", "a list of image inspect results (docker_image_info's images), not dict"),
        (IMAGES, "", "a non-empty REPOSITORY:TAG, not ''"),
        (IMAGES, None, "a non-empty REPOSITORY:TAG, not None"),
        (IMAGES, ["a:b"], "a non-empty REPOSITORY:TAG, not ['a:b']"),
        (["nested-hosts/node:bookworm"], "a:b", "every image must be an inspect result (a mapping), not str"),
        ([{"RepoTags": "a:b"}], "a:b", "an image's RepoTags must be a list of tags, not str"),
        ([{"RepoTags": {"a:b": 1}}], "a:b", "an image's RepoTags must be a list of tags, not dict"),
    ],
    ids=[
        "images-none",
        "images-str",
        "images-one-image",
        "images-whole-result",
        "name-empty",
        "name-none",
        "name-list",
        "image-str",
        "repotags-str",
        "repotags-dict",
    ],
)
def test_bad_arguments_name_what_is_wrong(images: t.Any, name: t.Any, message: str) -> None:
    with pytest.raises(ImageLookupError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        known_image(images, name)


TAGS = st.sampled_from(["a/x:1", "a/x:2", "b:latest", "b", "c/y:bookworm"])
IMAGE_LISTS = st.lists(
    st.fixed_dictionaries({"Id": st.text(max_size=4), "RepoTags": st.lists(TAGS, max_size=3)}),
    max_size=5,
)


@given(images=IMAGE_LISTS, name=TAGS)
def test_found_is_the_first_image_listing_the_name(images: list[dict[str, t.Any]], name: str) -> None:
    holders = [image for image in images if name in image["RepoTags"]]
    found = known_image(images, name)
    if holders:
        assert found is holders[0]
    else:
        assert found == {}


def test_image_ids_maps_each_name_to_its_image_id_or_empty() -> None:
    names = ["nhtest-node/node:bookworm", "nested-hosts/base:trixie", "nested-hosts/base:bookworm"]
    assert image_ids(IMAGES, names) == {
        "nhtest-node/node:bookworm": NODE["Id"],
        "nested-hosts/base:trixie": BASE["Id"],
        "nested-hosts/base:bookworm": "",
    }


def test_image_ids_of_no_names_is_empty() -> None:
    assert image_ids(IMAGES, []) == {}


@pytest.mark.parametrize(
    ("images", "names", "message"),
    [
        (IMAGES, "nested-hosts/base:trixie", "names must be a list"),
        (IMAGES, {"nested-hosts/base:trixie": 1}, "names must be a list"),
        (IMAGES, [""], "non-empty REPOSITORY:TAG"),
        ({"images": IMAGES}, ["nested-hosts/base:trixie"], "list of image inspect results"),
        ([{"Id": 7, "RepoTags": ["a/b:c"]}], ["a/b:c"], "Id that is not a string"),
    ],
    ids=["names-str", "names-dict", "empty-name", "images-dict", "id-int"],
)
def test_image_ids_bad_arguments_name_what_is_wrong(images: t.Any, names: t.Any, message: str) -> None:
    with pytest.raises(ImageLookupError, match=message):
        image_ids(images, names)


@given(st.lists(st.sampled_from(["nested-hosts/node:bookworm", "nested-hosts/base:trixie", "debian:bookworm-slim", "x/y:z"]), max_size=6))
def test_image_ids_agree_with_known_image(names: list[str]) -> None:
    assert image_ids(IMAGES, names) == {name: known_image(IMAGES, name).get("Id", "") for name in names}
