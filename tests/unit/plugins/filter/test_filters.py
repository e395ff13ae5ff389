# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for the filter plugins: the Ansible-facing wrappers and their errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.nested.hosts.plugins.filter import child_connection, container_options, dpkg_missing, dpkg_query_argv
from ansible_collections.nested.hosts.plugins.module_utils._packages import DPKG_QUERY_FORMAT


@pytest.mark.parametrize(
    ("parent", "chain", "first_hop"),
    [
        ({"ansible_connection": "local"}, ["n1"], "local"),
        ({"ansible_connection": "ssh", "ansible_host": "10.0.0.5", "ansible_port": 2222}, ["n1"], "ssh"),
        ({"inventory_hostname": "lab1"}, ["n1"], "ssh"),
        ({"ansible_connection": "community.docker.docker", "ansible_host": "outer"}, ["outer", "n1"], "local"),
        (
            {"ansible_connection": "nested.hosts.nested", "ansible_nested_chain": ["a", "b"]},
            ["a", "b", "n1"],
            "local",
        ),
    ],
    ids=["local", "ssh", "default-ssh", "docker-connection", "nested"],
)
def test_child_connection_by_parent_connection(parent: dict, chain: list, first_hop: str) -> None:
    out = child_connection.FilterModule().filters()["child_connection"](parent, "n1")
    assert out["ansible_connection"] == "nested.hosts.nested"
    assert out["ansible_host"] == "n1"
    assert out["ansible_nested_chain"] == chain
    assert out["ansible_nested_first_hop"] == first_hop


def test_child_connection_ssh_keeps_address_port_user_key() -> None:
    parent = {
        "ansible_host": "127.0.0.1",
        "ansible_port": 2201,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": "/lab/id",
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/lab/known",
    }
    out = child_connection.child_connection(parent, "dind-1")
    assert out["ansible_nested_ssh_host"] == "127.0.0.1"
    assert out["ansible_nested_ssh_port"] == 2201
    assert out["ansible_nested_ssh_user"] == "root"
    assert out["ansible_nested_ssh_private_key_file"] == "/lab/id"
    assert out["ansible_nested_ssh_common_args"] == "-o UserKnownHostsFile=/lab/known"


@pytest.mark.parametrize(
    ("parent", "name", "message"),
    [
        ({"ansible_connection": "local"}, "bad name!", "is not a container name"),
        ({"ansible_connection": "winrm"}, "n1", "cannot be chained through"),
        (["not", "a", "dict"], "n1", "parent host's variables"),
    ],
    ids=["bad-name", "unchainable-connection", "not-hostvars"],
)
def test_child_connection_errors(parent: object, name: str, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=message):
        child_connection.child_connection(parent, name)


def test_container_options_filter_wraps_errors() -> None:
    with pytest.raises(AnsibleFilterError, match="container_options: overrides has keys"):
        container_options.container_options({}, {"image": "x"})


def test_container_options_filter_passes_through() -> None:
    facts = {"recommended_container_options": {"privileged": True, "unmask_system_paths": True}}
    out = container_options.FilterModule().filters()["container_options"](facts, extra_volumes=["v:/var/lib/docker"])
    assert out["privileged"] is True
    assert out["volumes"] == ["v:/var/lib/docker"]
    assert "unmask_system_paths" not in out


def test_dpkg_missing_returns_the_missing_packages() -> None:
    out = dpkg_missing.FilterModule().filters()["dpkg_missing"]("jq\t1.6\tinstalled\n", ["jq", "rsync"])
    assert out == ["rsync"]


def test_dpkg_missing_bad_input_is_a_filter_error() -> None:
    with pytest.raises(AnsibleFilterError, match=r"nested.hosts.dpkg_missing: the wanted packages must be a list"):
        dpkg_missing.FilterModule().filters()["dpkg_missing"]("", "jq")


def test_dpkg_query_argv_asks_about_every_package() -> None:
    out = dpkg_query_argv.FilterModule().filters()["dpkg_query_argv"](["python3-apt", "jq"])
    assert out == ["dpkg-query", "--show", "--showformat=" + DPKG_QUERY_FORMAT, "python3-apt", "jq"]


@pytest.mark.parametrize(
    ("wanted", "message"),
    [("jq", "the wanted packages must be a list of names, not str"), (["jq", ""], "a non-empty name, not ''")],
    ids=["not-a-list", "empty-name"],
)
def test_dpkg_query_argv_bad_input_is_a_filter_error(wanted: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=rf"^nested.hosts.dpkg_query_argv: .*{message}"):
        dpkg_query_argv.FilterModule().filters()["dpkg_query_argv"](wanted)
