# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The recipe_hash filter: equal to the ``to_json(sort_keys=True) | hash('sha256')`` labels the
image roles wrote before it existed (so existing images are reused), and errors as filter errors."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_hash, to_json
from ansible_collections.nested.hosts.plugins.filter import labelled_systemd_version as labelled_filter
from ansible_collections.nested.hosts.plugins.filter import recipe_hash as recipe_hash_filter
from ansible_collections.nested.hosts.tests.unit.plugins.module_utils.test__recipe import CASES, ERRORS

FILTER = recipe_hash_filter.FilterModule().filters()["recipe_hash"]


@pytest.mark.parametrize(("recipe"), [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_same_as_ansible_to_json_and_hash(recipe: dict[str, t.Any]) -> None:
    assert FILTER(recipe) == get_hash(to_json(recipe, sort_keys=True), "sha256")


@ERRORS
def test_errors_are_filter_errors(recipe: t.Any, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match="recipe_hash: .*" + message):
        FILTER(recipe)


def test_labelled_systemd_version_filter_reads_the_labels() -> None:
    top = "sha256:" + "b" * 64
    labels = {"io.nested-hosts.systemd-version": "257", "io.nested-hosts.systemd-version-layer": top}
    image = {"Config": {"Labels": labels}, "RootFS": {"Layers": [top]}}
    read = labelled_filter.FilterModule().filters()["labelled_systemd_version"]
    assert read(image) == 257
    assert read({**image, "RootFS": {"Layers": [top, "sha256:" + "c" * 64]}}) is None
