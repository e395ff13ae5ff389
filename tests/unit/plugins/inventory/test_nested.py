# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.nested inventory plugin through Ansible's own inventory machinery.

Each case writes a ``*.nested.yml`` source, loads it with ``InventoryManager`` and ``DataLoader``
(plugin found by name through the collection loader) and answers discovery's docker commands from
a recording in tests/unit/fixtures/inventory (see _replay.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import yaml
from ansible_collections.nested.hosts.tests.unit.helpers import FIXTURES

RUNNER = Path(__file__).with_name("_inventory_run.py")
INVENTORY = FIXTURES / "inventory"
FLEET_ENDPOINTS = [
    {"name": "localhost"},
    {"name": "hostb", "docker_host": "unix:///tmp/nhtest-inv-b/docker.sock"},
    {"name": "gone", "docker_host": "unix:///tmp/nhtest-inv-none/docker.sock"},
]


class Loaded(t.NamedTuple):
    hosts: dict[str, dict[str, t.Any]]
    order: list[str]
    groups: dict[str, list[str]]
    warnings: list[str]
    calls: list[list[t.Any]]
    threads: list[str]
    error: dict[str, str] | None
    peak: int


class Harness:
    """Writes a ``*.nested.yml`` source and loads it in a separate process (see _inventory_run.py)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def source(self, options: dict[str, t.Any], name: str = "fleet.nested.yml") -> str:
        path = self.tmp_path / name
        path.write_text(yaml.safe_dump({"plugin": "nested.hosts.nested", **options}, sort_keys=False))
        return str(path)

    def load(self, options: dict[str, t.Any], recording: str | None = "fleet", mode: str = "manager",
             flush: bool = False, slow: float = 0.0) -> Loaded:
        argv = [sys.executable, str(RUNNER), self.source(options), recording or "-", mode]
        argv += (["--flush"] if flush else []) + (["--slow", str(slow)] if slow else [])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False,
                              env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
        assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        doc = json.loads(proc.stdout)
        return Loaded(doc["hosts"], doc.get("order", []), doc["groups"], doc["warnings"], doc["calls"],
                      doc["threads"], doc["error"], doc["peak"])


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def members(loaded: Loaded, group: str) -> set[str]:
    return set(loaded.groups.get(group, []))


# id, options, recording, {group: members} (exact), hosts that must be absent, number of warnings
CASES = [
    (
        "fleet-depth-1-to-3",
        {"endpoints": FLEET_ENDPOINTS, "max_depth": 3},
        "fleet",
        {
            "nested_hosts_depth_0": {"localhost", "hostb", "gone"},
            "nested_hosts_depth_1": {"nhdemo-node-1", "nhdemo-node-2", "nhtest-inv-node-1", "nhtest-inv-deaf-1",
                                     "nhtest-inv-liar-1", "nhtest-inv-sock-1", "localhost/nhtest-inv-web",
                                     "hostb/nhtest-inv-web"},
            "nested_hosts_depth_2": {"nhdemo-dind-1", "nhtest-inv-dind-1"},
            "nested_hosts_depth_3": {"nhtest-inv-leaf-1"},
            "nested_hosts_method_node": {"nhdemo-node-1", "nhdemo-node-2", "nhtest-inv-node-1"},
            "nested_hosts_method_dind": {"nhdemo-dind-1", "nhtest-inv-dind-1", "nhtest-inv-deaf-1",
                                         "nhtest-inv-liar-1"},
            "nested_hosts_method_socket": {"nhtest-inv-sock-1"},
            "nested_hosts_method_container": {"nhtest-inv-leaf-1", "localhost/nhtest-inv-web",
                                              "hostb/nhtest-inv-web"},
            "nested_hosts_method_endpoint": {"localhost", "hostb", "gone"},
            "nested_hosts_parent_nhtest_inv_dind_1": {"nhtest-inv-leaf-1"},
            "nested_hosts_parent_nhtest_inv_node_1": {"nhtest-inv-dind-1"},
            "nested_hosts_parent_hostb": {"hostb/nhtest-inv-web"},
        },
        {"nhtest-inv-plain-1", "nhtest-inv-stopped-1", "nhdemo-d3", "nhtest-inv-ep-b", "nhtest-inv-sockplain-1",
         "nhtest-inv-web"},
        3,
    ),
    (
        "max-depth-2",
        {"endpoints": FLEET_ENDPOINTS[:1], "max_depth": 2},
        "fleet",
        {"nested_hosts_depth_2": {"nhdemo-dind-1", "nhtest-inv-dind-1"}, "nested_hosts_depth_3": set(),
         "nested_hosts_depth_1": {"nhdemo-node-1", "nhdemo-node-2", "nhtest-inv-node-1", "nhtest-inv-deaf-1",
                                  "nhtest-inv-liar-1", "nhtest-inv-sock-1", "nhtest-inv-web"}},
        {"nhtest-inv-leaf-1"},
        2,
    ),
    (
        "one-endpoint-no-name-no-collision",
        {"endpoints": [{"docker_host": "unix:///tmp/nhtest-inv-b/docker.sock"}]},
        "fleet",
        {"nested_hosts_depth_1": {"nhtest-inv-web"}, "nested_hosts_depth_0": set(),
         "nested_hosts_parent_unix____tmp_nhtest_inv_b_docker_sock": {"nhtest-inv-web"}},
        {"hostb"},
        0,
    ),
    (
        "ssh-first-hop",
        {"endpoints": [yaml.safe_load((INVENTORY / "ssh" / "source.nested.yml").read_text())["endpoints"][0]]},
        "ssh",
        {"nested_hosts_depth_0": {"sshhost"}, "nested_hosts_depth_1": {"nhtest-inv-ssh-inner"},
         "nested_hosts_parent_sshhost": {"nhtest-inv-ssh-inner"}},
        set(),
        0,
    ),
    (
        "same-daemon-twice-one-host-each",
        {"endpoints": [{"name": "localhost", "docker_host": "unix:///var/run/docker.sock"},
                       {"name": "again", "docker_host": "unix:///run/docker.sock"}]},
        "same-daemon-twice",
        {"nested_hosts_depth_0": {"localhost", "again"},
         "nested_hosts_depth_3": {"nhdemo-d3"},
         "nested_hosts_parent_again": set(),
         "nested_hosts_method_node": {"nhdemo-node-1", "nhdemo-node-2", "nhtest-node-1", "nhtest-node-2",
                                      "nhtest-node-3"}},
        {"again/nhdemo-node-1", "localhost/nhdemo-node-1"},
        1,
    ),
    (
        "include-unlabelled",
        {"endpoints": [{"name": "localhost"}], "include_unlabelled": True},
        "unlabelled",
        {"nested_hosts_depth_3": {"nhtest-inv-leaf-1", "nhtest-inv-plain-1", "nhdemo-d3"}},
        {"nhtest-inv-stopped-1"},
        2,
    ),
    (
        "constructed-compose-groups-keyed",
        {
            "endpoints": FLEET_ENDPOINTS[:1],
            "compose": {"deep_enough": "nested_hosts_depth >= 2"},
            "groups": {"inner": "nested_hosts_depth | int >= 2"},
            "keyed_groups": [{"key": "nested_hosts_labels['io.nested-hosts.role']", "prefix": "role",
                              "default_value": "none"}],
        },
        "fleet",
        {"inner": {"nhdemo-dind-1", "nhtest-inv-dind-1", "nhtest-inv-leaf-1"},
         "role_node": {"nhdemo-node-1", "nhdemo-node-2", "nhtest-inv-node-1"},
         "role_container": {"nhtest-inv-leaf-1", "nhtest-inv-web"}},
        set(),
        2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_inventory(harness: Harness, case: tuple) -> None:
    _id, options, recording, groups, absent, warnings = case
    loaded = harness.load(options, recording)
    assert loaded.error is None, loaded.error
    for group, expected in groups.items():
        assert members(loaded, group) == expected, group
    assert not set(loaded.hosts) & absent
    assert len(loaded.warnings) == warnings, loaded.warnings


def test_host_variables(harness: Harness) -> None:
    loaded = harness.load({"endpoints": FLEET_ENDPOINTS})
    leaf = loaded.hosts["nhtest-inv-leaf-1"]
    assert leaf["ansible_connection"] == "nested.hosts.nested"
    assert leaf["ansible_nested_chain"] == ["nhtest-inv-node-1", "nhtest-inv-dind-1", "nhtest-inv-leaf-1"]
    assert (leaf["nested_hosts_depth"], leaf["nested_hosts_parent"], leaf["nested_hosts_method"]) == (
        3, "nhtest-inv-dind-1", "container")
    assert leaf["nested_hosts_labels"]["io.nested-hosts.role"] == "container"
    assert leaf["nested_hosts_image"] == "nested-hosts/base:bookworm"
    assert len(leaf["nested_hosts_container_id"]) == 64
    web_b = loaded.hosts["hostb/nhtest-inv-web"]
    assert web_b["ansible_nested_docker_host"] == "unix:///tmp/nhtest-inv-b/docker.sock"
    assert web_b["ansible_nested_chain"] == ["nhtest-inv-web"] and web_b["nested_hosts_parent"] == "hostb"
    assert loaded.hosts["localhost"]["ansible_connection"] == "local"
    assert loaded.hosts["nhdemo-dind-1"]["nested_hosts_parent"] == "nhdemo-node-1"


def test_ssh_endpoint_host_variables(harness: Harness) -> None:
    source = yaml.safe_load((INVENTORY / "ssh" / "source.nested.yml").read_text())
    loaded = harness.load({"endpoints": source["endpoints"]}, "ssh")
    host = loaded.hosts["sshhost"]
    assert (host["ansible_connection"], host["ansible_host"], host["ansible_port"], host["ansible_user"]) == (
        "ssh", "127.0.0.1", 22522, "root")
    assert host["ansible_ssh_private_key_file"] == "/tmp/nhtest-inv-ssh/id_ed25519"
    inner = loaded.hosts["nhtest-inv-ssh-inner"]
    assert inner["ansible_nested_first_hop"] == "ssh" and inner["ansible_nested_ssh_host"] == "127.0.0.1"
    assert inner["ansible_nested_chain"] == ["nhtest-inv-ssh-inner"]


def test_warnings_name_the_chain(harness: Harness) -> None:
    text = "\n".join(harness.load({"endpoints": FLEET_ENDPOINTS}).warnings)
    assert "local docker > nhtest-inv-deaf-1" in text
    assert "local docker (unix:///tmp/nhtest-inv-none/docker.sock)" in text
    assert "nhtest-inv-liar-1" in text


def test_levels_are_listed_concurrently(harness: Harness) -> None:
    """With workers > 1 the docker commands run on pool threads, several at once even for the levels of one
    endpoint (each recorded answer is delayed 50 ms); the result equals one listing after the other."""
    alone = harness.load({"endpoints": FLEET_ENDPOINTS[:1], "workers": 8}, slow=0.05)
    assert alone.peak > 1, "the levels of one endpoint were listed one after the other"
    loaded = harness.load({"endpoints": FLEET_ENDPOINTS, "workers": 3})
    assert loaded.threads and all(n.startswith("nested-hosts-inventory") for n in loaded.threads)
    assert {e for e, _chain, _cmd in loaded.calls} == {0, 1, 2}
    depth0 = [n for n in loaded.order if loaded.hosts[n]["nested_hosts_depth"] == 0]
    assert depth0 == ["localhost", "hostb", "gone"]
    serial = harness.load({"endpoints": FLEET_ENDPOINTS, "workers": 1})
    assert set(serial.threads) == {"MainThread"}
    assert serial.hosts == loaded.hosts and serial.groups == loaded.groups


def test_cache_answers_the_second_run(harness: Harness) -> None:
    options = {"endpoints": FLEET_ENDPOINTS[:2], "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
               "cache_connection": str(harness.tmp_path / "cache"), "cache_timeout": 3600}
    first = harness.load(options, "fleet")
    assert first.error is None and first.calls
    second = harness.load(options, None)  # a runner that fails if discovery runs again
    assert second.error is None, second.error
    assert second.hosts == first.hosts and second.groups == first.groups
    flushed = harness.load(options, None, mode="direct", flush=True)  # ansible-inventory --flush-cache
    assert flushed.error and "discovery ran" in flushed.error["message"]
    uncached = harness.load({"endpoints": FLEET_ENDPOINTS[:2]}, None, mode="direct")
    assert uncached.error and "discovery ran" in uncached.error["message"]


def test_verify_file(harness: Harness) -> None:
    for name, ok in (("a.nested.yml", True), ("a.nested.yaml", True), ("a.docker.yml", False), ("a.yml", False)):
        path = harness.source({"endpoints": FLEET_ENDPOINTS[1:2]}, name)
        proc = subprocess.run([sys.executable, str(RUNNER), path, "fleet"], capture_output=True, text=True,
                              timeout=120, check=True)
        hosts = json.loads(proc.stdout)["hosts"]
        assert ("hostb/nhtest-inv-web" in hosts or "nhtest-inv-web" in hosts) is ok, (name, hosts)


# id, options, words the one error must hold (option and fix)
BAD = [
    ("endpoints-empty", {"endpoints": []}, ["endpoints must be a non-empty list", "[{name: localhost}]"]),
    ("endpoint-not-a-mapping", {"endpoints": ["localhost"]}, ["endpoints[0] must be a mapping"]),
    ("endpoint-unknown-key", {"endpoints": [{"nmae": "x"}]}, ["endpoints[0] has unknown key(s) nmae", "use only name"]),
    ("docker-host-scheme", {"endpoints": [{"docker_host": "http://h:2375"}]},
     ["endpoints[0].docker_host='http://h:2375'", "tcp://host:port"]),
    ("ssh-needs-host", {"endpoints": [{"name": "a"}, {"first_hop": "ssh"}]},
     ["endpoints[1].first_hop=ssh needs endpoints[1].ssh_host"]),
    ("first-hop-choice", {"endpoints": [{"first_hop": "telnet"}]}, ["endpoints[0].first_hop='telnet'", "local, ssh"]),
    ("tls-incomplete", {"endpoints": [{"docker_host": "tcp://h:2376", "tls_ca_cert": "/ca.pem"}]},
     ["TLS needs all three", "endpoints[0].tls_client_cert"]),
    ("ssh-port", {"endpoints": [{"first_hop": "ssh", "ssh_host": "h", "ssh_port": 70000}]},
     ["endpoints[0].ssh_port=70000 is out of range"]),
    ("same-endpoint-twice", {"endpoints": [{}, {"first_hop": "local"}]},
     ["endpoints[1] and endpoints[0] are both named 'local'", "endpoints[1].name"]),
    ("max-depth-zero", {"max_depth": 0}, ["max_depth=0 must be a whole number of at least 1"]),
    ("max-depth-text", {"max_depth": "three"}, ["'max_depth'", "set max_depth to a whole number"]),
    ("roles-empty", {"roles": []}, ["roles=[] must be a non-empty list"]),
    ("label-selector-list", {"label_selector": ["a"]}, ["'label_selector'", "set label_selector to a mapping"]),
    ("label-selector-nested", {"label_selector": {"a": {"b": 1}}}, ["label_selector=", "must map label names"]),
    ("workers-zero", {"workers": 0}, ["workers=0"]),
    ("wrong-plugin-name", {"plugin": "community.docker.docker_containers"},
     ["Incorrect plugin name", "set plugin: nested.hosts.nested"]),
]


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
def test_bad_options_give_one_parser_error(harness: Harness, bad: tuple) -> None:
    _id, options, words = bad
    loaded = harness.load(options, "fleet", mode="direct")
    assert loaded.error is not None and loaded.error["type"] == "AnsibleParserError", loaded.error
    for word in words:
        assert word in loaded.error["message"], loaded.error["message"]
    assert loaded.calls == [] and loaded.threads == [], "discovery ran despite bad options"


def test_bad_options_reach_the_user_through_inventory_manager(harness: Harness) -> None:
    """ansible-inventory shows the plugin's message (as the auto plugin's parse failure) and adds no host."""
    loaded = harness.load({"endpoints": [{"docker_host": "http://h"}]})
    assert loaded.hosts == {}
    assert any("endpoints[0].docker_host='http://h' is not a Docker endpoint" in w for w in loaded.warnings)
