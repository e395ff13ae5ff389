# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks of the "node" scenario, run on every node through docker exec."""

from __future__ import annotations

import os

import pytest
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = sorted(RUNNER.get_hosts("all"))
testinfra_hosts = NODES
FIRST = "nhtest-node-1"
TINY = "nhtest-node/tiny:1"
DIND = "nhtest-node-dind"


def test_three_nodes() -> None:
    assert NODES == ["nhtest-node-1", "nhtest-node-2", "nhtest-node-3"]


def test_systemd_running(host) -> None:
    out = host.run("systemctl is-system-running")
    assert out.stdout.strip() == "running", host.run("systemctl --failed --no-pager").stdout


def test_no_failed_units(host) -> None:
    out = host.check_output("systemctl list-units --failed --plain --no-legend --no-pager")
    assert out.strip() == ""


def test_no_kernel_module_loading_units(host) -> None:
    # The node has CAP_SYS_MODULE: modprobe@*.service would load modules into the host's kernel.
    out = host.check_output("systemctl show --property=LoadState --value modprobe@loop.service modprobe@dm_mod.service")
    assert out.split() == ["masked", "masked"]


def test_pid1_is_systemd(host) -> None:
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


@pytest.mark.parametrize("unit", ["docker", "containerd", "ssh", "dbus", "nginx"])
def test_units_active(host, unit: str) -> None:
    assert host.service(unit).is_running


def test_docker_answers_on_overlay2(host) -> None:
    assert host.check_output("docker info --format '{{.Driver}}'").strip() == "overlay2"


def test_fleet_page_served(host) -> None:
    page = host.check_output(
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1/').read().decode())\""
    )
    assert page.startswith(host.backend.get_hostname() + " depth=1 parent=localhost")


def test_seeded_image_runs(host) -> None:
    assert host.check_output(f"docker run --rm {TINY} echo depth2-ok").strip() == "depth2-ok"


def test_nesting_facts_can_nest_docker(host) -> None:
    facts = host.ansible("nested.hosts.nesting_facts", check=False)
    facts = facts.get("ansible_facts", {}).get("nesting_facts", facts)
    assert facts["can_nest_docker"] is True, facts.get("risks")
    assert facts["in_container"] is True


def _read_identity(node: str) -> tuple[str, str]:
    h = testinfra.get_host(f"ansible://{node}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")
    machine_id = h.file("/etc/machine-id").content_string.strip()
    # DMI is bind-mounted over when the host has it; this VM has no /sys/class/dmi, so the
    # value the entrypoint generated is read from its state directory then.
    dmi = "/sys/class/dmi/id/product_uuid"
    uuid_file = dmi if h.file(dmi).exists else "/etc/nested-hosts/product_uuid"
    return machine_id, h.file(uuid_file).content_string.strip()


def test_identities_distinct_across_nodes() -> None:
    ids = [_read_identity(n) for n in NODES]
    machine_ids = [machine_id for machine_id, _uuid in ids]
    uuids = [uuid for _machine_id, uuid in ids]
    assert all(len(m) == 32 for m in machine_ids), machine_ids
    assert len(set(machine_ids)) == len(NODES), machine_ids
    assert all(len(u) == 36 for u in uuids), uuids
    assert len(set(uuids)) == len(NODES), uuids


def test_depth2_container_running() -> None:
    h = testinfra.get_host(f"ansible://{FIRST}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")
    assert h.check_output("docker inspect --format '{{.State.Running}}' nhtest-node-d2").strip() == "true"


def test_depth3_inside_dind_inside_node() -> None:
    h = testinfra.get_host(f"ansible://{FIRST}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")
    assert h.check_output(f"docker exec {DIND} docker info --format '{{{{.Driver}}}}'").strip() == "overlay2"
    assert (
        h.check_output(f"docker exec {DIND} docker inspect --format '{{{{.State.Running}}}}' nhtest-node-d3").strip()
        == "true"
    )
    out = h.check_output(f"docker exec {DIND} docker run --rm {TINY} echo depth3-ok")
    assert out.strip() == "depth3-ok"
