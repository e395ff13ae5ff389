# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks of the "modern_host" scenario: a trixie guest (systemd 257 as PID 1, cgroup v2,
AppArmor), the Sysbox stand-in on it and the trixie node below it, each reached the way a user's
playbook reaches it. verify.yml runs this file before its own checks (which remove the node).

The guest is reached over SSH from Molecule's inventory. The node (depth 1) is reached through the
collection's chained connection (``nested.hosts.nested``: ssh guest > docker exec node) with the
variables the node role set, which converge wrote to ``levels.yml``; testinfra runs it through
Ansible (``force_ansible``) since it has no backend of its own for that connection. The container
the node's dockerd runs (depth 2) holds no Python and is checked from the node.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import testinfra

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
GUEST = "nhtest-lab-modern-1"
NODE = "nhtest-lab-node-1"
NODE_CONTAINER = "nhtest-lab-node-c2"
LEVELS = os.path.join(EPHEMERAL, "levels.yml")
testinfra_hosts = [f"ansible://{GUEST}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"]


def _level(name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={LEVELS}&force_ansible=True")


@pytest.fixture(scope="module")
def node() -> Any:
    return _level(NODE)


def _docker_info(h: Any) -> dict[str, Any]:
    # JSON rather than --format '{{.Driver}}': the ansible backend would template the braces.
    return json.loads(h.check_output("docker info --format json"))


# Each command is a module run in the emulated guest (seconds each, more through the chain to the
# node), so the facts a test needs are read with one shell where they can be.
def _lines(h: Any, script: str) -> list[str]:
    return [line.strip() for line in h.check_output(script).splitlines()]


# ------------------------------------------------------------------------------------ the guest
def test_guest_is_a_modern_host(host: Any) -> None:
    pid1, systemd, cgroupfs, apparmor = _lines(
        host,
        "cat /proc/1/comm; systemctl --version | head -n 1; stat -f -c %T /sys/fs/cgroup; "
        "cat /sys/module/apparmor/parameters/enabled",
    )
    assert pid1 == "systemd"
    assert int(systemd.split()[1]) >= 257, systemd
    assert cgroupfs == "cgroup2fs"
    assert apparmor == "Y"


def test_sysbox_stand_in_runs_under_the_guest_systemd(host: Any) -> None:
    # The TEST STAND-IN (sysbox-runc execs runc): it proves the role's install and unit handling
    # under a real systemd, not Sysbox itself.
    version = host.check_output("dpkg-query --show --showformat='${Version}' sysbox-ce")
    assert version.endswith("~standin"), version
    units = ("sysbox", "sysbox-mgr", "sysbox-fs")
    assert host.run(f"systemctl is-active {' '.join(units)}").stdout.split() == ["active"] * 3, units
    assert host.run(f"systemctl is-enabled {' '.join(units)}").stdout.split() == ["enabled"] * 3, units
    assert "sysbox-runc" in _docker_info(host)["Runtimes"]
    out = host.check_output("docker run --rm --runtime sysbox-runc nhtest-lab/tiny:1 /usr/bin/true && echo ran")
    assert out == "ran"


# ------------------------------------------------------------------------------ depth 1: the node
def test_node_runs_systemd_257_on_cgroup_v2(node: Any, host: Any) -> None:
    pid1, systemd, cgroupfs, cgroupns, tainted = _lines(
        node,
        "cat /proc/1/comm; systemctl --version | head -n 1; stat -f -c %T /sys/fs/cgroup; "
        "readlink /proc/self/ns/cgroup; echo \"tainted=$(systemctl show --property=Tainted --value)\"",
    )
    assert pid1 == "systemd"
    assert int(systemd.split()[1]) >= 257, systemd
    assert cgroupfs == "cgroup2fs"
    # A private cgroup namespace: the node sees its own cgroup as the root.
    assert cgroupns != host.check_output("readlink /proc/self/ns/cgroup")
    # On cgroup v2 systemd is not tainted by the legacy hierarchy (it is on a cgroup v1 host).
    assert "cgroupsv1" not in tainted, tainted


def test_node_system_running_without_failed_units(node: Any) -> None:
    state = node.run("systemctl is-system-running")
    assert state.stdout.strip() == "running", node.run("systemctl --failed --no-pager").stdout
    assert node.check_output("systemctl list-units --failed --plain --no-legend --no-pager") == ""


def test_node_units_active(node: Any) -> None:
    units = ("docker", "containerd", "ssh", "dbus")
    states = node.run(f"systemctl is-active {' '.join(units)}").stdout.split()
    assert dict(zip(units, states)) == dict.fromkeys(units, "active"), states


def test_node_docker_on_overlay2_and_cgroup_v2(node: Any) -> None:
    info = _docker_info(node)
    assert (info["Driver"], info["CgroupVersion"]) == ("overlay2", "2")


# ------------------------------------------------------------- depth 2: a container in the node
def test_node_container_runs_in_its_own_cgroupns(node: Any) -> None:
    state = json.loads(node.check_output(f"docker inspect {NODE_CONTAINER}"))[0]
    assert state["State"]["Running"] is True
    assert state["HostConfig"]["CgroupnsMode"] == "private"
    own = node.check_output(f"docker exec {NODE_CONTAINER} /usr/bin/readlink /proc/self/ns/cgroup")
    assert own != node.check_output("readlink /proc/self/ns/cgroup")
    assert node.check_output(f"docker exec {NODE_CONTAINER} /bin/sh -c 'cat /proc/self/cgroup'") == "0::/"


def test_node_container_cgroup_sits_under_the_node_cgroup(node: Any, host: Any) -> None:
    # The node's dockerd (systemd cgroup driver under the node's systemd) puts the container in a
    # scope below the node's own cgroup: the guest sees it inside the node container's cgroup.
    cid = json.loads(node.check_output(f"docker inspect {NODE_CONTAINER}"))[0]["Id"]
    node_id = json.loads(host.check_output(f"docker inspect {NODE}"))[0]["Id"]
    found = host.check_output(f"find /sys/fs/cgroup -type d -name '*{cid}*'").splitlines()
    assert found, f"no cgroup of {cid} on the guest"
    assert all(node_id in path for path in found), found
