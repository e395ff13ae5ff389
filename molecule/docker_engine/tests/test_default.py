# SPDX-License-Identifier: GPL-3.0-or-later
"""Verifier for the docker_engine scenario: the inner dockerd after converge and the faults."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
INNER_IMAGE = "nhtest-engine/mini:1"


def _docker_info(host) -> dict:
    cmd = host.run("docker info --format '{{json .}}'")
    assert cmd.rc == 0, f"docker info failed: {cmd.stderr}"
    return json.loads(cmd.stdout)


def test_dockerd_answers_with_overlay2(host) -> None:
    info = _docker_info(host)
    assert info["Driver"] == "overlay2"
    assert info["ServerVersion"]


def _uses_systemd(host) -> bool:
    return host.file("/run/systemd/system").is_directory


def test_dockerd_is_supervised_the_right_way(host) -> None:
    if _uses_systemd(host):
        service = host.service("docker")
        assert service.is_running and service.is_enabled
        assert not host.file("/usr/local/sbin/nested-hosts-dockerd").exists
    else:
        status = host.run("/usr/local/sbin/nested-hosts-dockerd status")
        assert status.rc == 0, status.stdout + status.stderr
        pid = host.file("/var/run/docker.pid").content_string.strip()
        assert host.file(f"/proc/{pid}/comm").content_string.strip() == "dockerd"


def test_daemon_json_keeps_foreign_runtime_and_has_role_options(host) -> None:
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["runtimes"] == {"nhtest-foreign": {"path": "/usr/bin/runc"}}
    assert config["storage-driver"] == "overlay2"
    assert config["labels"] == ["io.nested-hosts.scenario=docker_engine"]
    assert "default-address-pools" not in config, "the refused change was not written"
    info = _docker_info(host)
    assert "nhtest-foreign" in info["Runtimes"], "dockerd loaded the kept runtime"
    assert "io.nested-hosts.scenario=docker_engine" in info["Labels"]


def test_a_container_runs_inside(host) -> None:
    if host.run(f"docker image inspect {INNER_IMAGE}").rc != 0:
        pytest.fail(f"{INNER_IMAGE} is missing; the side_effect step builds it from the node's own binaries")
    run = host.run(f"docker run --rm {INNER_IMAGE} /usr/bin/dash -c 'read line </proc/self/cgroup; echo $line'")
    assert run.rc == 0, run.stderr
    assert re.match(r"^\d+:", run.stdout.strip()), run.stdout


def test_check_mode_on_converged_host_changes_nothing(host) -> None:
    before = host.file("/etc/docker/daemon.json").content_string
    pid_before = host.check_output("pidof dockerd")
    proc, recap = _run_playbook_check("converge.yml", host)
    assert proc.returncode == 0 and recap, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert (recap.group(1), recap.group(2)) == ("0", "0"), proc.stdout[-3000:]
    assert host.file("/etc/docker/daemon.json").content_string == before
    assert host.check_output("pidof dockerd") == pid_before, "check mode restarted dockerd"


def _run_playbook_check(playbook: str, host) -> tuple[subprocess.CompletedProcess, re.Match | None]:
    """Run a scenario playbook with --check --diff, limited to this host; return it and its recap."""
    name = host.backend.get_hostname()
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not inventory:
        pytest.skip("MOLECULE_INVENTORY_FILE is not set: this check needs Molecule's inventory")
    proc = subprocess.run(
        ["ansible-playbook", "-i", inventory, "--limit", name, str(SCENARIO / playbook), "--check", "--diff"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"),
    )
    recap = re.search(re.escape(name) + r"\s*:\s*ok=\d+\s+changed=(\d+).*failed=(\d+)", proc.stdout)
    return proc, recap


def test_docker_source_previews_in_check_mode_and_changes_nothing(host) -> None:
    proc, recap = _run_playbook_check("check_docker_source.yml", host)
    assert proc.returncode == 0 and recap, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert int(recap.group(1)) > 0 and recap.group(2) == "0", proc.stdout[-3000:]
    assert "would download https://download.docker.com/linux/debian/gpg" in proc.stdout
    assert "would install docker-ce, docker-ce-cli, containerd.io" in proc.stdout
    assert not host.file("/etc/apt/keyrings/docker.asc").exists
    assert not host.file("/etc/apt/sources.list.d/docker.sources").exists
    assert not host.package("docker-ce").is_installed
