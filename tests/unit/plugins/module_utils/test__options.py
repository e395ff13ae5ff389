# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/module_utils/_options.py, fed with nesting_facts results of captured trees."""

from __future__ import annotations

import pytest
from ansible_collections.nested.hosts.plugins.module_utils import _options
from ansible_collections.nested.hosts.tests.unit.helpers import captured as _facts


def test_only_docker_container_keys_leave() -> None:
    facts = _facts("host-debian12-hybrid-vm")
    assert "unmask_system_paths" in facts["recommended_container_options"]  # the input does carry it
    out = _options.container_options(facts)
    assert set(out) <= set(_options.CONTAINER_KEYS)
    assert "unmask_system_paths" not in out


def test_privileged_equivalent_host_maps_every_key() -> None:
    facts = _facts("host-debian12-hybrid-vm")
    out = _options.container_options(facts, extra_volumes=["lib:/var/lib/docker"])
    assert out["privileged"] is False
    assert out["capabilities"] == ["ALL"]
    assert out["cap_drop"] == ["SYS_RESOURCE"]
    assert out["device_cgroup_rules"] == ["a *:* rwm"]
    assert out["volumes"] == ["/sys/fs/cgroup:/sys/fs/cgroup:rw", "lib:/var/lib/docker"]


@pytest.mark.parametrize(
    ("overrides", "key", "want"),
    [
        ({"privileged": True}, "privileged", True),
        ({"cgroupns_mode": "private"}, "cgroupns_mode", "private"),
        ({"volumes": []}, "volumes", []),
        ({"security_opts": ["seccomp=unconfined"]}, "security_opts", ["seccomp=unconfined"]),
    ],
    ids=["privileged", "cgroupns", "volumes-emptied", "security-opts"],
)
def test_overrides_replace_whole_keys(overrides: dict, key: str, want: object) -> None:
    out = _options.container_options(_facts("host-debian12-hybrid-vm"), overrides)
    assert out[key] == want


def test_no_facts_gives_unprivileged_defaults_without_cgroupns() -> None:
    out = _options.container_options(None)
    assert out == {
        "privileged": False,
        "capabilities": [],
        "cap_drop": [],
        "security_opts": [],
        "device_cgroup_rules": [],
        "volumes": [],
    }


def test_extra_volume_already_recommended_is_not_doubled() -> None:
    facts = {"recommended_container_options": {"volumes": ["a:/a"]}}
    assert _options.container_options(facts, extra_volumes=["a:/a", "b:/b"])["volumes"] == ["a:/a", "b:/b"]


@pytest.mark.parametrize(
    ("facts", "overrides", "message"),
    [
        ({}, {"unmask_system_paths": True}, "unmask_system_paths"),
        ({}, {"image": "x"}, "use only privileged"),
        ("not a dict", None, "must be a nesting_facts result"),
    ],
    ids=["informational-key", "unrelated-key", "not-a-mapping"],
)
def test_bad_input_names_the_problem(facts: object, overrides: dict | None, message: str) -> None:
    with pytest.raises(_options.OptionsError, match=message):
        _options.container_options(facts, overrides)  # type: ignore[arg-type]
