# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The known_image filter: the same image as each ``selectattr('RepoTags', 'contains', NAME)`` form
the roles used before it, and the same answer as their tag-membership test; errors as filter errors."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import flatten
from ansible.plugins.test.mathstuff import contains
from ansible_collections.nested.hosts.plugins.filter import image_ids as image_ids_filter
from ansible_collections.nested.hosts.plugins.filter import known_image as known_image_filter
from ansible_collections.nested.hosts.tests.unit.plugins.module_utils.test__images import IMAGES, NODE
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment

FILTER = known_image_filter.FilterModule().filters()["known_image"]

# Ansible's contains test and flatten filter, which the replaced expressions used.
ENV = Environment()
ENV.tests.update({"contains": contains})
ENV.filters.update({"flatten": flatten, "nested.hosts.known_image": FILTER})

# (what it was, what it is now), as the call sites wrote them.
FORMS = {
    # dind (its own lookup), docker_engine seed_images
    "first": (
        "images | selectattr('RepoTags', 'contains', name) | first | default({})",
        "images | nested.hosts.known_image(name)",
    ),
    # docker_engine seed_known_images, and the list forms (base_image, node, node_image) taken first
    "defined-first": (
        "images | selectattr('RepoTags', 'defined') | selectattr('RepoTags', 'contains', name) | list | first | default({})",
        "images | nested.hosts.known_image(name)",
    ),
    # the list forms' emptiness test (base_image, node, node_image)
    "defined-list-empty": (
        "images | selectattr('RepoTags', 'defined') | selectattr('RepoTags', 'contains', name) | list | length == 0",
        "images | nested.hosts.known_image(name) | length == 0",
    ),
    # node: whether to look the node image up
    "not-in-tags": (
        "name not in images | map(attribute='RepoTags') | map('default', [], true) | flatten",
        "images | nested.hosts.known_image(name) | length == 0",
    ),
    # demo: the base image's Config
    "config": (
        "images | selectattr('RepoTags', 'contains', name) | map(attribute='Config') | first | default({}, true)",
        "(images | nested.hosts.known_image(name)).Config | default({}, true)",
    ),
}

TAGS = st.sampled_from(["a/x:1", "a/x:2", "b:latest", "b", "c/y:bookworm"])
IMAGE = st.fixed_dictionaries(
    {"Id": st.text(alphabet="0123456789abcdef", max_size=4), "RepoTags": st.lists(TAGS, max_size=3)},
    optional={"Config": st.one_of(st.none(), st.fixed_dictionaries({"Labels": st.just({"k": "v"})}))},
)


@pytest.mark.parametrize("form", sorted(FORMS))
@given(images=st.lists(IMAGE, max_size=5), name=TAGS)
def test_same_answer_as_the_expression_it_replaced(form: str, images: list[dict[str, t.Any]], name: str) -> None:
    before, after = FORMS[form]
    assert ENV.compile_expression(after)(images=images, name=name) == ENV.compile_expression(before)(
        images=images, name=name
    )


def test_an_image_without_repotags_is_skipped_as_the_defined_forms_skipped_it() -> None:
    images = [{"Id": "sha256:x"}, NODE]
    assert FILTER(images, "nested-hosts/node:bookworm") is NODE
    assert ENV.compile_expression(FORMS["defined-first"][0])(images=images, name="nested-hosts/node:bookworm") is NODE


def test_the_filter_returns_the_image() -> None:
    assert FILTER(IMAGES, "nhtest-node/node:bookworm") is NODE
    assert FILTER(IMAGES, "nested-hosts/node") == {}


@pytest.mark.parametrize(
    ("images", "name", "message"),
    [
        (None, "a:b", "the input must be a list of image inspect results"),
        (IMAGES, "", "the image name must be a non-empty REPOSITORY:TAG"),
        (["a:b"], "a:b", "every image must be an inspect result"),
    ],
    ids=["images-none", "name-empty", "image-str"],
)
def test_bad_arguments_are_filter_errors(images: t.Any, name: t.Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=rf"^nested.hosts.known_image: {message}"):
        FILTER(images, name)


def test_image_ids_filter_maps_names_and_raises_filter_errors() -> None:
    image_ids = image_ids_filter.FilterModule().filters()["image_ids"]
    assert image_ids(IMAGES, ["nested-hosts/node:bookworm", "a/b:c"]) == {"nested-hosts/node:bookworm": NODE["Id"], "a/b:c": ""}
    with pytest.raises(AnsibleFilterError, match=r"nested.hosts.image_ids: the names must be a list"):
        image_ids(IMAGES, "a/b:c")
