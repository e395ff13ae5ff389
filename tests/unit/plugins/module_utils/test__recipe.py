# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The recipe hash: one formula, with stable values (the labels of existing images must still match).

Its equality with the ``to_json(sort_keys=True) | hash('sha256')`` the roles used before is tested
in tests/unit/plugins/filter/test_recipe_hash.py, beside the filter (Ansible's own code there needs
a newer Python than the module code's floor)."""

from __future__ import annotations

import typing as t

import pytest
from ansible_collections.nested.hosts.plugins.module_utils._recipe import RecipeError, labelled_systemd_version, recipe_hash

CASES: list[tuple[str, dict[str, t.Any]]] = [
    ("empty", {}),
    (
        "base-image-debootstrap",
        {
            "recipe_version": 3,
            "source": "debootstrap",
            "distribution": "debian",
            "suite": "bookworm",
            "mirror": "http://deb.debian.org/debian",
            "components": ["main"],
            "variant": "minbase",
            "keyring": "",
            "packages": ["ca-certificates", "dbus", "docker.io", "python3", "systemd"],
        },
    ),
    (
        "dind",
        {
            "recipe_version": "2",
            "entrypoint": "0" * 64,
            "certs_readme": "1" * 64,
            "dockerfile": "2" * 64,
        },
    ),
    ("unicode-and-nesting", {"z": {"b": [1, 2.5, True, None], "a": "é ü"}, "a": "x"}),
]


def test_key_order_does_not_matter() -> None:
    assert recipe_hash({"a": 1, "b": [2]}) == recipe_hash({"b": [2], "a": 1})


def test_known_value() -> None:
    # sha256 of '{"a": 1, "b": [2]}'
    assert recipe_hash({"b": [2], "a": 1}) == "ae8a9a50524642753023cd4de34447191a8651989979c60bbcc5b0eeebb6e1dc"


# Bad recipes and the words their error must contain (the filter's tests use them too).
ERRORS = pytest.mark.parametrize(
    ("recipe", "message"),
    [
        (["not", "a", "mapping"], "must be a mapping"),
        ({"part": object()}, "JSON value"),
    ],
    ids=["list", "not-json"],
)


@ERRORS
def test_errors(recipe: t.Any, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        recipe_hash(recipe)


def _image(labels: t.Any, layers: t.Any) -> dict[str, t.Any]:
    return {"Id": "sha256:" + "9" * 64, "Config": {"Labels": labels}, "RootFS": {"Type": "layers", "Layers": layers}}


TOP = "sha256:" + "b" * 64
LOWER = "sha256:" + "a" * 64
LABELLED = {"io.nested-hosts.systemd-version": "252", "io.nested-hosts.systemd-version-layer": TOP}


@pytest.mark.parametrize(
    ("image", "version"),
    [
        (_image(LABELLED, [LOWER, TOP]), 252),
        # Built FROM a labelled image with a layer of its own: the inherited label no longer holds.
        (_image(LABELLED, [LOWER, TOP, "sha256:" + "c" * 64]), None),
        (_image({**LABELLED, "io.nested-hosts.test": "only a label added"}, [LOWER, TOP]), 252),
        (_image({"io.nested-hosts.systemd-version": "252"}, [LOWER, TOP]), None),
        (_image({**LABELLED, "io.nested-hosts.systemd-version": "252.1"}, [TOP]), None),
        (_image({**LABELLED, "io.nested-hosts.systemd-version": ""}, [TOP]), None),
        (_image({**LABELLED, "io.nested-hosts.systemd-version": "0"}, [TOP]), 0),
        (_image(None, [TOP]), None),
        (_image(LABELLED, None), None),
        (_image(LABELLED, []), None),
        ({}, None),
        (None, None),
    ],
    ids=[
        "own-layer",
        "derived-with-layer",
        "derived-label-only",
        "no-layer-label",
        "not-digits",
        "empty",
        "zero",
        "no-labels",
        "no-rootfs",
        "no-layers",
        "empty-image",
        "not-a-mapping",
    ],
)
def test_labelled_systemd_version(image: t.Any, version: int | None) -> None:
    assert labelled_systemd_version(image) == version
