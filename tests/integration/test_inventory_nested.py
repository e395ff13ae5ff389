# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.nested inventory plugin against this machine's Docker daemon, for real.

A ``*.nested.yml`` source for the local socket is loaded with ``ansible-inventory --graph`` and
``--list``. When the demo runs (``make demo``: nhdemo-node-1 > nhdemo-dind-1 > nhdemo-d3) its levels
are checked; otherwise (or with ``NH_INV_OWN_CHAIN=1``) the test builds its own nhtest-inv-* tree
with tests/integration/inventory_chain.sh and removes it afterwards. Then ``ansible -m ping`` runs
on the discovered chain through the nested.hosts.nested connection, if that plugin exists.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAIN_SCRIPT = Path(__file__).with_name("inventory_chain.sh")
BIN = Path(sys.executable).parent
CONNECTION_PLUGIN = REPO_ROOT / "plugins" / "connection" / "nested.py"

DEMO = {  # host -> (depth, parent, method)
    "nhdemo-node-1": (1, "localhost", "node"),
    "nhdemo-dind-1": (2, "nhdemo-node-1", "dind"),
}
DEMO_DEPTH3 = ("nhdemo-d3", (3, "nhdemo-dind-1", "container"))
OWN = {
    "nhtest-inv-node-1": (1, "localhost", "node"),
    "nhtest-inv-dind-1": (2, "nhtest-inv-node-1", "dind"),
    "nhtest-inv-leaf-1": (3, "nhtest-inv-dind-1", "container"),
    "nhtest-inv-deaf-1": (1, "localhost", "dind"),
    "nhtest-inv-sock-1": (1, "localhost", "socket"),
}
OWN_ABSENT = ("nhtest-inv-plain-1", "nhtest-inv-stopped-1", "nhtest-inv-ep-b", "nhtest-inv-sockplain-1")


def _running(name: str, *prefix: str) -> bool:
    argv = [*prefix, "docker", "inspect", "--format", "{{.State.Running}}", name]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def _demo_levels() -> dict[str, tuple[int, str, str]] | None:
    """The demo's levels when the demo runs, with the depth-3 one if it carries the collection's label."""
    if os.environ.get("NH_INV_OWN_CHAIN") == "1" or not _running("nhdemo-node-1"):
        return None
    if not _running("nhdemo-dind-1", "docker", "exec", "nhdemo-node-1"):
        return None
    levels = dict(DEMO)
    label = subprocess.run(
        ["docker", "exec", "nhdemo-node-1", "docker", "exec", "nhdemo-dind-1", "docker", "inspect", "--format",
         '{{index .Config.Labels "io.nested-hosts.role"}}', DEMO_DEPTH3[0]],
        capture_output=True, text=True, timeout=60, check=False)
    if label.returncode == 0 and label.stdout.strip() == "container":
        levels[DEMO_DEPTH3[0]] = DEMO_DEPTH3[1]
    return levels


@pytest.fixture(scope="module")
def levels() -> Any:
    """(expected levels, hosts that must be absent, whether this test built them)."""
    demo = _demo_levels()
    if demo is not None:
        print(f"checking the running demo's levels: {sorted(demo)}")
        yield demo, (), False
        return
    if snapshot.docker("image", "inspect", "nested-hosts/base:bookworm", check=False).returncode != 0:
        pytest.skip("neither the demo runs nor does the image nested-hosts/base:bookworm exist (run make demo)")
    subprocess.run(["bash", str(CHAIN_SCRIPT), "down"], capture_output=True, text=True, timeout=300, check=False)
    up = subprocess.run(["bash", str(CHAIN_SCRIPT), "up"], capture_output=True, text=True, timeout=900, check=False)
    try:
        assert up.returncode == 0, f"building the nhtest-inv chain failed:\n{up.stderr[-3000:]}"
        print("checking this test's own nhtest-inv-* levels")
        yield OWN, OWN_ABSENT, True
    finally:
        down = subprocess.run(["bash", str(CHAIN_SCRIPT), "down"], capture_output=True, text=True, timeout=300,
                              check=False)
        assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("nhtest-inv-src") / "local.nested.yml"
    path.write_text(yaml.safe_dump({
        "plugin": "nested.hosts.nested",
        "endpoints": [{"name": "localhost", "docker_host": "unix:///var/run/docker.sock"}],
        "max_depth": 3,
    }, sort_keys=False))
    return str(path)


def _env() -> dict[str, str]:
    return dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
                PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def _plain(value: Any) -> Any:
    """ansible-inventory --list (ansible-core 2.19) writes strings not trusted as templates as
    ``{"__ansible_unsafe": "..."}``; every string discovered from a daemon is such a string."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _inventory(source: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", source, *args], capture_output=True, text=True,
                          timeout=300, env=_env(), check=False)
    assert proc.returncode == 0, f"ansible-inventory {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def test_graph_and_list_show_the_levels(levels: Any, source: str) -> None:
    expected, absent, built = levels
    graph = _inventory(source, "--graph").stdout
    print(graph)
    listing = _plain(json.loads(_inventory(source, "--list").stdout))
    hostvars = listing["_meta"]["hostvars"]

    def members(group: str) -> set[str]:
        return set(listing.get(group, {}).get("hosts", []))

    assert hostvars["localhost"]["nested_hosts_depth"] == 0 and "localhost" in members("nested_hosts_depth_0")
    for host, (depth, parent, method) in expected.items():
        assert host in hostvars, f"{host} not discovered; graph:\n{graph}"
        got = hostvars[host]
        assert (got["nested_hosts_depth"], got["nested_hosts_parent"], got["nested_hosts_method"]) == (
            depth, parent, method), host
        assert got["ansible_connection"] == "nested.hosts.nested"
        assert got["ansible_nested_chain"][-1] == host and len(got["ansible_nested_chain"]) == depth
        assert host in members(f"nested_hosts_depth_{depth}")
        assert host in members(f"nested_hosts_method_{method}")
        assert host in members("nested_hosts_parent_" + parent.replace("-", "_"))
        assert f"|--{host}" in graph
    for host in absent:
        assert host not in hostvars, f"{host} must be filtered out"


def test_a_level_whose_daemon_does_not_answer_is_warned_about(levels: Any, source: str) -> None:
    _expected, _absent, built = levels
    if not built:
        pytest.skip("the demo has no level whose daemon does not answer; the own chain has nhtest-inv-deaf-1")
    proc = _inventory(source, "--graph")
    assert "nhtest-inv-deaf-1" in proc.stderr and "not listed" in proc.stderr, proc.stderr


def test_ping_through_the_chain(levels: Any, source: str) -> None:
    expected, _absent, _built = levels
    if not CONNECTION_PLUGIN.exists():
        pytest.skip(f"{CONNECTION_PLUGIN.relative_to(REPO_ROOT)} does not exist yet: no chained connection to ping through")
    targets = sorted(h for h, (_d, _p, method) in expected.items() if method in ("node", "dind", "container")
                     and not h.startswith("nhtest-inv-deaf"))
    env = _env()
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run([str(BIN / "ansible"), "-i", source, "all", "--limit", ",".join(targets),
                           "-m", "ansible.builtin.ping"], capture_output=True, text=True, timeout=600, env=env,
                          check=False)
    try:
        results = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no JSON from ansible -m ping (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    summary = {host: (r.get("ping"), r.get("unreachable", False), r.get("msg")) for host, r in results.items()}
    print(summary)
    assert set(results) == set(targets)
    assert all(r.get("ping") == "pong" for r in results.values()), summary


SSH_PORT = int(os.environ.get("NHTEST_INV_SSH_PORT", "22522"))


@pytest.fixture(scope="module")
def ssh_source(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A Docker host reached over SSH (tests/integration/inventory_chain.sh ssh-up), removed afterwards."""
    if snapshot.docker("image", "inspect", "nested-hosts/base:bookworm", check=False).returncode != 0:
        pytest.skip("the image nested-hosts/base:bookworm does not exist (run make demo)")
    env = dict(os.environ, NHTEST_INV_SSH_PORT=str(SSH_PORT))
    subprocess.run(["bash", str(CHAIN_SCRIPT), "ssh-down"], capture_output=True, text=True, timeout=300, env=env,
                   check=False)
    up = subprocess.run(["bash", str(CHAIN_SCRIPT), "ssh-up"], capture_output=True, text=True, timeout=900,
                        env=env, check=False)
    try:
        assert up.returncode == 0, f"building the SSH host failed:\n{up.stderr[-3000:]}"
        path = tmp_path_factory.mktemp("nhtest-inv-ssh-src") / "ssh.nested.yml"
        path.write_text(yaml.safe_dump({
            "plugin": "nested.hosts.nested",
            "endpoints": [{
                "name": "sshhost", "first_hop": "ssh", "ssh_host": "127.0.0.1", "ssh_port": SSH_PORT,
                "ssh_user": "root", "ssh_private_key_file": "/tmp/nhtest-inv-ssh/id_ed25519",
                "ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            }],
        }, sort_keys=False))
        yield str(path)
    finally:
        down = subprocess.run(["bash", str(CHAIN_SCRIPT), "ssh-down"], capture_output=True, text=True, timeout=300,
                              env=env, check=False)
        assert down.returncode == 0, down.stderr


def test_ssh_first_hop(ssh_source: str) -> None:
    """The fleet case: the Docker host is reached over SSH; its container is a level of the chain over SSH."""
    listing = _plain(json.loads(_inventory(ssh_source, "--list").stdout))
    hostvars = listing["_meta"]["hostvars"]
    inner = hostvars["nhtest-inv-ssh-inner"]
    assert (inner["nested_hosts_depth"], inner["nested_hosts_parent"], inner["nested_hosts_method"]) == (
        1, "sshhost", "container")
    assert inner["ansible_nested_first_hop"] == "ssh" and inner["ansible_nested_ssh_port"] == SSH_PORT
    assert hostvars["sshhost"]["ansible_connection"] == "ssh"
    if not CONNECTION_PLUGIN.exists():
        pytest.skip(f"{CONNECTION_PLUGIN.relative_to(REPO_ROOT)} does not exist yet: no chained connection to ping through")
    env = _env()
    env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run([str(BIN / "ansible"), "-i", ssh_source, "nhtest-inv-ssh-inner", "-m", "ansible.builtin.ping"],
                          capture_output=True, text=True, timeout=600, env=env, check=False)
    results = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert results["nhtest-inv-ssh-inner"].get("ping") == "pong", results
