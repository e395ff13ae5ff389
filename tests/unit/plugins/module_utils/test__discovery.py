# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Discovery over recorded ``docker ps`` / ``docker inspect`` answers (tests/unit/fixtures/inventory)."""
from __future__ import annotations

import json
import random
import typing as t

import pytest

from ansible_collections.nested.hosts.plugins.module_utils import _chain, _discovery
from ansible_collections.nested.hosts.tests.unit.plugins.inventory._replay import INVENTORY, Replay, UnrecordedCall

LOCAL = _chain.FirstHop()
HOSTB = _chain.make_first_hop({"docker_host": "unix:///tmp/nhtest-inv-b/docker.sock"})
GONE = _chain.make_first_hop({"docker_host": "unix:///tmp/nhtest-inv-none/docker.sock"})
SSH = _chain.make_first_hop({
    "first_hop": "ssh", "ssh_host": "127.0.0.1", "ssh_port": 22522, "ssh_user": "root",
    "ssh_private_key_file": "/tmp/nhtest-inv-ssh/id_ed25519",
    "ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
})
NODE, DIND, LEAF = "nhtest-inv-node-1", "nhtest-inv-dind-1", "nhtest-inv-leaf-1"
DEMO_NODE, DEMO_DIND = "nhdemo-node-1", "nhdemo-dind-1"


def run(case: str, first_hop: _chain.FirstHop, max_depth: int = 3, index: int = 0, name: str | None = "localhost",
        **selector: t.Any) -> tuple[_discovery.EndpointResult, Replay]:
    replay = Replay(case)
    endpoint = _discovery.Endpoint(index=index, first_hop=first_hop, name=name)
    return _discovery.discover(endpoint, replay, max_depth, _discovery.Selector(**selector)), replay


FULL_LOCAL = {
    (DEMO_NODE,): "node",
    (DEMO_NODE, DEMO_DIND): "dind",
    ("nhdemo-node-2",): "node",
    ("nhtest-inv-deaf-1",): "dind",
    ("nhtest-inv-liar-1",): "dind",
    (NODE,): "node",
    (NODE, DIND): "dind",
    (NODE, DIND, LEAF): "container",
    ("nhtest-inv-sock-1",): "socket",
    ("nhtest-inv-web",): "container",
}
UNLABELLED_EXTRA = {
    ("nhtest-inv-ep-b",): "container",
    ("nhtest-inv-sockplain-1",): "container",
    (NODE, DIND, "nhtest-inv-plain-1"): "container",
    (DEMO_NODE, DEMO_DIND, "nhdemo-d3"): "container",
}

# id, recording, first hop, max_depth, selector, expected {chain: method}, chains listed, chains never listed,
# substrings of the warnings (one list item per expected warning, in order)
CASES = [
    ("depth-1-to-3", "fleet", LOCAL, 3, {}, FULL_LOCAL,
     [(), (NODE,), (NODE, DIND), (DEMO_NODE, DEMO_DIND), ("nhtest-inv-web",)],
     [(NODE, DIND, LEAF), ("nhtest-inv-sock-1",)],
     ["levels below local docker > nhtest-inv-deaf-1 are not listed: no Docker daemon answered",
      "local docker > nhtest-inv-liar-1: its docker CLI talks to an outer daemon"]),
    ("max-depth-2-cut", "fleet", LOCAL, 2, {}, {k: v for k, v in FULL_LOCAL.items() if len(k) <= 2},
     [(), (NODE,), (DEMO_NODE,)], [(NODE, DIND), (DEMO_NODE, DEMO_DIND)],
     ["nhtest-inv-deaf-1 are not listed", "nhtest-inv-liar-1: its docker CLI talks to an outer daemon"]),
    ("max-depth-1-cut", "fleet", LOCAL, 1, {}, {k: v for k, v in FULL_LOCAL.items() if len(k) == 1},
     [()], [(NODE,), (DEMO_NODE,), ("nhtest-inv-deaf-1",)], []),
    ("roles-node-only", "fleet", LOCAL, 3, {"roles": ("node",)},
     {(DEMO_NODE,): "node", ("nhdemo-node-2",): "node", (NODE,): "node"},
     [(), (NODE,), (DEMO_NODE,)], [(NODE, DIND)], []),
    ("label-selector", "fleet", LOCAL, 3, {"labels": (("io.nested-hosts.node", NODE),)},
     {(NODE,): "node"}, [(), (NODE,)], [(NODE, DIND)], []),
    ("label-present", "fleet", LOCAL, 1, {"labels": (("io.nested-hosts.mode", None),)},
     {("nhtest-inv-deaf-1",): "dind", ("nhtest-inv-liar-1",): "dind", ("nhtest-inv-sock-1",): "socket"},
     [()], [], []),
    ("endpoint-b", "fleet", HOSTB, 3, {}, {("nhtest-inv-web",): "container"}, [(), ("nhtest-inv-web",)], [], []),
    ("endpoint-does-not-answer", "fleet", GONE, 3, {}, {}, [()], [],
     ["levels below local docker (unix:///tmp/nhtest-inv-none/docker.sock) are not listed: no Docker daemon "
      "answered on the way to local docker (unix:///tmp/nhtest-inv-none/docker.sock): Cannot connect"]),
    ("ssh-first-hop", "ssh", SSH, 3, {}, {("nhtest-inv-ssh-inner",): "container"},
     [(), ("nhtest-inv-ssh-inner",)], [], []),
    ("node-without-docker-cli", "no-docker-cli", LOCAL, 3, {"labels": (("io.nested-hosts.node", "nhtest-inv-nocli-1"),)},
     {("nhtest-inv-nocli-1",): "node"}, [(), ("nhtest-inv-nocli-1",)], [],
     ["levels below local docker > nhtest-inv-nocli-1 are not listed: a level on the way to local docker > "
      "nhtest-inv-nocli-1 has no docker CLI to run the next hop"]),
    ("include-unlabelled", "unlabelled", LOCAL, 3, {"include_unlabelled": True}, {**FULL_LOCAL, **UNLABELLED_EXTRA},
     [(), ("nhtest-inv-ep-b",), (NODE, DIND)], [("nhtest-inv-sockplain-1",), (NODE, DIND, "nhtest-inv-plain-1")],
     ["nhtest-inv-deaf-1 are not listed", "nhtest-inv-liar-1: its docker CLI talks to an outer daemon"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_discover_recorded(case: tuple) -> None:
    _id, recording, first_hop, max_depth, selector, expected, listed, not_listed, warnings = case
    index = {LOCAL: 0, HOSTB: 1, GONE: 2, SSH: 0}[first_hop]
    result, replay = run(recording, first_hop, max_depth, index=index, **selector)
    assert {lv.chain: lv.method for lv in result.levels} == expected
    assert all(lv.depth <= max_depth for lv in result.levels)
    done = {chain for e, chain in replay.chains_listed() if e == index}
    assert set(listed) <= done, f"not listed: {set(listed) - done}"
    assert not set(not_listed) & done, f"listed although they must not be: {set(not_listed) & done}"
    assert len(result.warnings) == len(warnings), result.warnings
    for text, want in zip(result.warnings, warnings):
        assert want in text


def test_stopped_container_is_listed_by_the_daemon_but_not_a_level() -> None:
    rows = _discovery.parse_ps((INVENTORY / "fleet" / "endpoint-0" / NODE / "ps.jsonl").read_text())
    states = {row["Names"]: row["State"] for row in rows}
    assert states == {"nhtest-inv-stopped-1": "exited", DIND: "running"}
    assert [r["ID"] for r in rows if r["Names"] == DIND] == _discovery.running_ids(rows)
    result, _replay = run("fleet", LOCAL)
    assert (NODE, "nhtest-inv-stopped-1") not in {lv.chain for lv in result.levels}


def test_levels_carry_inspect_facts() -> None:
    result, _replay = run("fleet", LOCAL)
    leaf = next(lv for lv in result.levels if lv.chain == (NODE, DIND, LEAF))
    inspect = json.loads((INVENTORY / "fleet" / "endpoint-0" / NODE / DIND / "inspect.json").read_text())
    recorded = next(obj for obj in inspect if obj["Name"] == "/" + LEAF)
    assert leaf.container_id == recorded["Id"] and len(leaf.container_id) == 64
    assert leaf.image == "nested-hosts/base:bookworm"
    assert leaf.labels["io.nested-hosts.role"] == "container"
    assert leaf.depth == 3


def test_unrecorded_call_fails_the_replay() -> None:
    """The replay is strict: a discovery asking for anything else would fail these tests."""
    replay = Replay("fleet")
    with pytest.raises(UnrecordedCall):
        replay(LOCAL, ("nhtest-inv-sock-1",), _discovery.PS_ARGV)


@pytest.mark.parametrize(
    "labels, method",
    [
        ({"io.nested-hosts.role": "node", "io.nested-hosts.node": "n1"}, "node"),
        ({"io.nested-hosts.role": "dind", "io.nested-hosts.mode": "dind"}, "dind"),
        ({"io.nested-hosts.role": "dind"}, "dind"),
        ({"io.nested-hosts.role": "dind", "io.nested-hosts.mode": "socket"}, "socket"),
        ({"io.nested-hosts.role": "container"}, "container"),
        ({"io.nested-hosts.role": "node_image"}, "container"),
        ({}, "container"),
    ],
)
def test_method_of(labels: dict, method: str) -> None:
    assert _discovery.method_of(labels) == method


@pytest.mark.parametrize(
    "selector, labels, keeps",
    [
        (_discovery.Selector(), {"io.nested-hosts.role": "node"}, True),
        (_discovery.Selector(), {"io.nested-hosts.role": "node_image"}, False),  # the node image's own label
        (_discovery.Selector(), {"org.opencontainers.image.title": "nested-hosts/base"}, False),
        (_discovery.Selector(include_unlabelled=True), {}, True),
        (_discovery.Selector(include_unlabelled=True), {"io.nested-hosts.role": "node_image"}, False),
        (_discovery.Selector(labels=(("team", "a"),)), {"io.nested-hosts.role": "dind", "team": "a"}, True),
        (_discovery.Selector(labels=(("team", "a"),)), {"io.nested-hosts.role": "dind", "team": "b"}, False),
        (_discovery.Selector(labels=(("team", None),)), {"io.nested-hosts.role": "dind"}, False),
    ],
)
def test_selector(selector: _discovery.Selector, labels: dict, keeps: bool) -> None:
    assert selector.keeps(labels) is keeps


def _recorded_line() -> str:
    return (INVENTORY / "fleet" / "endpoint-1" / "ps.jsonl").read_text().splitlines()[0]


@pytest.mark.parametrize(
    "parser, text, message",
    [
        (_discovery.parse_ps, _recorded_line()[:80], "docker ps line 1 is not JSON"),
        (_discovery.parse_ps, '{"Names": "x"}', "docker ps line 1 has no container ID"),
        (_discovery.parse_inspect, "Error: No such object: x", "docker inspect output is not JSON"),
        (_discovery.parse_inspect, '{"Id": "x"}', "not a list of objects"),
    ],
)
def test_parse_errors(parser: t.Callable, text: str, message: str) -> None:
    with pytest.raises(_discovery.DiscoveryError, match=message):
        parser(text)


def test_truncated_listing_is_a_warning_not_a_crash() -> None:
    replay = Replay("fleet")
    key = (1, (), _discovery.PS_ARGV)
    replay.answers[key] = replay.answers[key]._replace(stdout=_recorded_line()[:80])
    endpoint = _discovery.Endpoint(index=1, first_hop=HOSTB, name="hostb")
    result = _discovery.discover(endpoint, replay, 3, _discovery.Selector())
    assert result.levels == []
    assert len(result.warnings) == 1 and "is not JSON" in result.warnings[0]


def fleet_results(names: t.Sequence[str | None] = ("localhost", "hostb", "gone"), max_depth: int = 3):
    results = []
    for index, (hop, name) in enumerate(zip((LOCAL, HOSTB, GONE), names)):
        result, _replay = run("fleet", hop, max_depth, index=index, name=name)
        results.append(result)
    return results


def test_same_container_name_on_two_endpoints_is_disambiguated() -> None:
    results = fleet_results()
    endpoints = [r.endpoint for r in results]
    levels = [lv for r in results for lv in r.levels]
    names = _discovery.assign_names(endpoints, levels)
    assert names[(0, ("nhtest-inv-web",))] == "localhost/nhtest-inv-web"
    assert names[(1, ("nhtest-inv-web",))] == "hostb/nhtest-inv-web"
    assert names[(0, (NODE, DIND, LEAF))] == LEAF  # unique names stay plain
    shuffled = list(levels)
    random.Random(14).shuffle(shuffled)
    assert _discovery.assign_names(list(reversed(endpoints)), shuffled) == names


def test_unnamed_endpoints_prefix_with_their_docker_host() -> None:
    results = fleet_results(names=(None, None, None))
    names = _discovery.assign_names([r.endpoint for r in results], [lv for r in results for lv in r.levels])
    assert names[(0, ("nhtest-inv-web",))] == "local/nhtest-inv-web"
    assert names[(1, ("nhtest-inv-web",))] == "unix:///tmp/nhtest-inv-b/docker.sock/nhtest-inv-web"
    hosts = _discovery.build_hosts(results)
    assert not [h for h in hosts if h.variables["nested_hosts_depth"] == 0]
    web_b = next(h for h in hosts if h.name.endswith("docker.sock/nhtest-inv-web"))
    assert web_b.variables["nested_hosts_parent"] == "unix:///tmp/nhtest-inv-b/docker.sock"
    assert "nested_hosts_parent_unix____tmp_nhtest_inv_b_docker_sock" in web_b.groups


def test_container_named_like_a_named_endpoint_is_prefixed() -> None:
    results = fleet_results(names=("localhost", NODE, "gone"))
    names = _discovery.assign_names([r.endpoint for r in results], [lv for r in results for lv in r.levels])
    assert names[(0, (NODE,))] == f"localhost/{NODE}"
    assert names[(0, (NODE, DIND))] == DIND


def test_build_hosts_fleet() -> None:
    hosts = {h.name: h for h in _discovery.build_hosts(fleet_results())}
    assert [n for n, h in hosts.items() if h.variables["nested_hosts_depth"] == 0] == ["localhost", "hostb", "gone"]
    assert hosts["localhost"].variables["ansible_connection"] == "local"
    assert hosts["hostb"].variables["ansible_nested_docker_host"] == "unix:///tmp/nhtest-inv-b/docker.sock"
    leaf = hosts[LEAF].variables
    assert leaf["ansible_connection"] == "nested.hosts.nested"
    assert leaf["ansible_nested_chain"] == [NODE, DIND, LEAF]
    assert leaf["ansible_host"] == LEAF
    assert leaf["nested_hosts_depth"] == 3
    assert leaf["nested_hosts_parent"] == DIND
    assert leaf["nested_hosts_method"] == "container"
    assert leaf["nested_hosts_image"] == "nested-hosts/base:bookworm"
    assert hosts[LEAF].groups == ["nested_hosts_method_container", "nested_hosts_depth_3",
                                  "nested_hosts_parent_nhtest_inv_dind_1"]
    assert hosts[DIND].variables["nested_hosts_parent"] == NODE
    assert hosts[NODE].variables["nested_hosts_parent"] == "localhost"
    assert hosts["hostb/nhtest-inv-web"].variables["nested_hosts_parent"] == "hostb"
    assert "ansible_nested_docker_host" not in hosts["localhost/nhtest-inv-web"].variables
    # the level whose daemon does not answer is still a host
    assert hosts["nhtest-inv-deaf-1"].variables["nested_hosts_method"] == "dind"
    assert "nhtest-inv-plain-1" not in hosts and "nhtest-inv-stopped-1" not in hosts and "nhdemo-d3" not in hosts


@pytest.mark.parametrize(
    "values, expected",
    [
        ({}, {"ansible_connection": "local"}),
        ({"docker_host": "unix:///var/run/docker.sock"}, {"ansible_connection": "local"}),
        ({"first_hop": "ssh", "ssh_host": "h1.example.com", "ssh_user": "root", "ssh_port": 2222},
         {"ansible_connection": "ssh", "ansible_host": "h1.example.com", "ansible_user": "root", "ansible_port": 2222}),
        ({"docker_host": "ssh://ops@h2.example.com:2200"},
         {"ansible_connection": "ssh", "ansible_host": "h2.example.com", "ansible_user": "ops", "ansible_port": 2200}),
        ({"docker_host": "tcp://h3.example.com:2376", "tls_ca_cert": "ca", "tls_client_cert": "c", "tls_client_key": "k"},
         {"ansible_host": "h3.example.com"}),
    ],
)
def test_endpoint_vars(values: dict, expected: dict) -> None:
    endpoint = _discovery.Endpoint(index=0, first_hop=_chain.make_first_hop(values), name="h")
    variables = _discovery.endpoint_vars(endpoint)
    keys = ("ansible_connection", "ansible_host", "ansible_user", "ansible_port")
    connection = {k: v for k, v in variables.items() if k in keys}
    assert connection == expected
    assert variables["nested_hosts_depth"] == 0 and variables["nested_hosts_method"] == "endpoint"


@pytest.mark.parametrize(
    "hop, label",
    [
        (_chain.FirstHop(), "local"),
        (_chain.make_first_hop({"docker_host": "tcp://h:2375"}), "tcp://h:2375"),
        (_chain.make_first_hop({"first_hop": "ssh", "ssh_host": "h", "ssh_user": "u", "ssh_port": 22}), "ssh://u@h:22"),
        (_chain.make_first_hop({"first_hop": "ssh", "ssh_host": "h", "docker_host": "unix:///d.sock"}),
         "ssh://h unix:///d.sock"),
    ],
)
def test_endpoint_label(hop: _chain.FirstHop, label: str) -> None:
    assert _discovery.endpoint_label(hop) == label


def test_runner_gets_the_commands_hop_argv_turns_into_a_chain() -> None:
    """The argv a level is listed with, as the subprocess runner builds it."""
    argv = _chain.hop_argv(LOCAL, [NODE, DIND], _discovery.PS_ARGV, interactive=False)
    assert argv == ["docker", "exec", NODE, "docker", "exec", DIND, *_discovery.PS_ARGV]
    argv = _chain.hop_argv(HOSTB, [], _discovery.PS_ARGV, interactive=False)
    assert argv == ["docker", "-H", "unix:///tmp/nhtest-inv-b/docker.sock", *_discovery.PS_ARGV[1:]]


def test_ssh_endpoint_levels_and_argv() -> None:
    result, _replay = run("ssh", SSH, name="sshhost")
    (host_inner,) = [h for h in _discovery.build_hosts([result]) if h.name == "nhtest-inv-ssh-inner"]
    assert host_inner.variables["ansible_nested_first_hop"] == "ssh"
    assert host_inner.variables["ansible_nested_ssh_port"] == 22522
    assert host_inner.variables["nested_hosts_parent"] == "sshhost"
    argv = _chain.hop_argv(SSH, ["nhtest-inv-ssh-inner"], _discovery.PS_ARGV, interactive=False)
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"] and argv[-2] == "127.0.0.1"
    assert argv[-1].startswith("docker exec nhtest-inv-ssh-inner docker ps --all")


def _twice() -> list[_discovery.EndpointResult]:
    again = _chain.make_first_hop({"docker_host": "unix:///run/docker.sock"})
    local = _chain.make_first_hop({"docker_host": "unix:///var/run/docker.sock"})
    return [run("same-daemon-twice", local, index=0, name="localhost")[0],
            run("same-daemon-twice", again, index=1, name="again")[0]]


def test_a_container_reached_through_two_endpoints_is_one_host() -> None:
    results = _twice()
    assert {lv.chain for lv in results[0].levels} == {lv.chain for lv in results[1].levels}  # found twice
    assert (DEMO_NODE, DEMO_DIND, "nhdemo-d3") in {lv.chain for lv in results[0].levels}
    warnings: list[str] = []
    hosts = {h.name: h for h in _discovery.build_hosts(results, warnings)}
    assert set(hosts) == {"localhost", "again", DEMO_NODE, "nhdemo-node-2", DEMO_DIND, "nhdemo-d3",
                          "nhtest-node-1", "nhtest-node-2", "nhtest-node-3"}  # no again/... copies, no prefixes
    assert all(h.variables.get("nested_hosts_endpoint") == "localhost" for n, h in hosts.items() if n != "again")
    assert hosts["nhdemo-d3"].variables["nested_hosts_parent"] == DEMO_DIND
    assert hosts["nhdemo-d3"].variables["nested_hosts_depth"] == 3
    assert len(warnings) == 1
    assert warnings[0].startswith("endpoint again reaches containers that endpoint localhost reaches too")
    assert "nhdemo-node-1, nhdemo-node-2" in warnings[0] and "nhdemo-dind-1" not in warnings[0]


def test_duplicates_keep_the_shortest_chain() -> None:
    """A copy found deeper (through an outer endpoint) gives way to the one found at depth 1 of another."""
    results = _twice()
    outer = [lv for lv in results[0].levels if lv.chain[0] == DEMO_NODE]
    inner = [_discovery.Level(1, lv.chain[1:], lv.container_id, lv.image, lv.labels, lv.method)
             for lv in outer if lv.depth > 1]  # as if endpoint 1 were nhdemo-node-1's own daemon
    kept, alias, _warnings = _discovery.drop_duplicates(outer + inner)
    assert {(lv.endpoint, lv.chain) for lv in kept} == {(0, (DEMO_NODE,)), (1, (DEMO_DIND,)), (1, (DEMO_DIND, "nhdemo-d3"))}
    assert alias[(0, (DEMO_NODE, DEMO_DIND))] == (1, (DEMO_DIND,))


def test_inspect_is_batched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many running containers are inspected in batches; docker inspect answers a subset with that subset."""
    replay = Replay("fleet")
    (recorded,) = [k for k in replay.answers if k[0] == 0 and k[1] == () and k[2][1] == "inspect"]
    objects = {o["Id"]: o for o in json.loads(replay.answers[recorded].stdout)}
    asked: list[int] = []

    def runner(first_hop: _chain.FirstHop, chain: t.Sequence[str], command: t.Sequence[str]) -> _discovery.RunResult:
        if tuple(chain) == () and command[1] == "inspect":
            ids = list(command[len(_discovery.INSPECT_ARGV):])
            asked.append(len(ids))
            return _discovery.RunResult(0, json.dumps([objects[i] for i in ids]), "")
        return replay(first_hop, chain, command)

    monkeypatch.setattr(_discovery, "INSPECT_BATCH", 4)
    endpoint = _discovery.Endpoint(index=0, first_hop=LOCAL, name="localhost")
    result = _discovery.discover(endpoint, runner, 3, _discovery.Selector())
    assert asked == [4, 4, 1]  # the 9 running containers of the host's listing
    assert {lv.chain: lv.method for lv in result.levels} == FULL_LOCAL
