# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify host -> dind L1 -> dind L2 -> container L3 built by the converge of this scenario."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import testinfra

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
CERTS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "certs"
L1_ENDPOINT = "tcp://10.213.77.10:2376"
# Level 1 runs on the host's daemon: testinfra's docker backend reaches it directly.
# Level 2 runs on level 1's daemon: only Ansible (with ansible_docker_extra_args) reaches it.
LEVELS = {
    "nhtest-dind-l1": f"ansible://nhtest-dind-l1?ansible_inventory={INVENTORY}",
    "nhtest-dind-l2": f"ansible://nhtest-dind-l2?ansible_inventory={INVENTORY}&force_ansible=True",
}


@pytest.fixture(scope="module", params=sorted(LEVELS))
def level(request: pytest.FixtureRequest) -> testinfra.host.Host:
    return testinfra.get_host(LEVELS[request.param])


@pytest.fixture(scope="module")
def controller() -> testinfra.host.Host:
    return testinfra.get_host("local://")


def _docker_tls(*args: str, client_cert: bool = True) -> list[str]:
    argv = [
        "docker",
        "-H",
        L1_ENDPOINT,
        "--tlsverify",
        f"--tlscacert={CERTS / 'client' / 'ca.pem'}",
    ]
    if client_cert:
        argv += [
            f"--tlscert={CERTS / 'client' / 'cert.pem'}",
            f"--tlskey={CERTS / 'client' / 'key.pem'}",
        ]
    return argv + list(args)


def test_inner_daemon_answers_on_overlay2(level: testinfra.host.Host) -> None:
    # Plain `docker info` output: a Go template would be taken for Jinja by the Ansible
    # backend that reaches level 2.
    out = level.run("docker info")
    assert out.rc == 0, out.stderr
    pairs = (line.split(": ", 1) for line in out.stdout.splitlines())
    info = {p[0].strip(): p[1].strip() for p in pairs if len(p) == 2}
    driver, version = info["Storage Driver"], info["Server Version"]
    print(f"{level.backend.get_pytest_id()}: dockerd {version}, storage driver {driver}")
    assert driver == "overlay2"


def test_nesting_facts_say_can_nest_docker(level: testinfra.host.Host) -> None:
    facts = level.ansible("nested.hosts.nesting_facts", check=False)
    assert facts["in_container"] is True, facts.get("evidence")
    assert facts["can_nest_docker"] is True, facts.get("reasons")


def test_level3_prints_its_cgroup_path(controller: testinfra.host.Host) -> None:
    l1 = testinfra.get_host(LEVELS["nhtest-dind-l1"])
    l2 = testinfra.get_host(LEVELS["nhtest-dind-l2"])
    cid = json.loads(l2.check_output("docker inspect nhtest-dind-l3"))[0]["Id"]
    l1_id = json.loads(controller.check_output("docker inspect nhtest-dind-l1"))[0]["Id"]
    l2_id = json.loads(l1.check_output("docker inspect nhtest-dind-l2"))[0]["Id"]
    logs = l2.check_output("docker logs nhtest-dind-l3")
    print(f"level 3 ({cid[:12]}) printed:\n{logs}")
    lines = [line for line in logs.splitlines() if line]
    assert lines and all(len(line.split(":", 2)) == 3 for line in lines), logs
    paths = [line.split(":", 2)[2] for line in lines]
    # cgroup v1: the container's own directory shows up in every hierarchy.
    if len(lines) > 1:
        assert any(cid in path for path in paths), paths
        # No cgroup namespace: level 3's cgroup must lie below level 2's, and level 2's below level 1's,
        # so that removing level 1 removes them all; beside them they would leak on the host.
        memory = next(line.split(":", 2)[2] for line in lines if "memory" in line.split(":", 2)[1].split(","))
        assert l1_id in memory and l2_id in memory, memory
        assert memory.index(l1_id) < memory.index(l2_id) < memory.index(cid), memory
    else:
        # cgroup v2 with a private cgroup namespace: the container sees itself at the root.
        assert paths == ["/"], paths


def test_tls_client_with_the_client_certificate_talks_to_level1(
    controller: testinfra.host.Host,
) -> None:
    out = controller.run_expect([0], " ".join(_docker_tls("info", "--format", "'{{.Name}} {{.Driver}}'")))
    assert out.stdout.split() == ["nhtest-dind-l1", "overlay2"]


def test_tls_client_without_a_certificate_is_refused(
    controller: testinfra.host.Host,
) -> None:
    out = controller.run(" ".join(_docker_tls("version", client_cert=False)))
    assert out.rc != 0
    assert "bad certificate" in out.stderr or "certificate required" in out.stderr, out.stderr


def test_plain_http_client_is_refused(controller: testinfra.host.Host) -> None:
    out = controller.run(f"docker -H {L1_ENDPOINT} version")
    assert out.rc != 0
    assert "HTTP request to an HTTPS server" in out.stderr + out.stdout, out.stderr


def test_private_keys_are_mode_0600(controller: testinfra.host.Host) -> None:
    keys = [CERTS / "ca" / "ca-key.pem", CERTS / "client" / "key.pem"]
    keys += sorted((CERTS / "servers").glob("*/server-key.pem"))
    assert len(keys) == 4, keys  # CA, client, level 1 and level 2 servers
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    l1 = testinfra.get_host(LEVELS["nhtest-dind-l1"])
    inner = l1.file("/certs/server-key.pem")
    assert inner.mode == 0o600 and inner.user == "root"


def test_level1_listens_with_tls_only() -> None:
    l1 = testinfra.get_host(LEVELS["nhtest-dind-l1"])
    listening = {line.split()[3].rsplit(":", 1)[1] for line in l1.check_output("ss -Hltn").splitlines() if line}
    assert "2376" in listening, listening
    assert "2375" not in listening, listening  # no plain TCP unless dind_insecure_plain_tcp
