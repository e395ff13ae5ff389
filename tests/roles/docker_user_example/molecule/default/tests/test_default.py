# SPDX-License-Identifier: GPL-3.0-or-later
"""testinfra checks of docker_user_example on nested.hosts nodes (run in every platform)."""

from __future__ import annotations

import json

IMAGE = "docker-user-example/hello:1"


def test_systemd_running(host) -> None:
    out = host.run("systemctl is-system-running")
    assert out.stdout.strip() in {"running", "degraded"}, host.run("systemctl --failed --no-pager").stdout


def test_dockerd_active(host) -> None:
    assert host.service("docker").is_running


def test_daemon_json_merged(host) -> None:
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-opts"]["max-size"] == "10m"
    assert host.check_output("docker info --format '{{.LoggingDriver}}'") == "json-file"


def test_nested_docker_run(host) -> None:
    """A container started inside the node: Docker nested one level below the platform."""
    out = host.run(f"docker run --rm {IMAGE} sh -c 'echo nested-ok; cat /proc/1/cgroup | head -1'")
    assert out.rc == 0, out.stderr
    assert out.stdout.splitlines()[0] == "nested-ok"


def test_web_container_answers(host) -> None:
    page = host.check_output(
        "python3 -c \"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080', timeout=10).read().decode())\""
    )
    assert page.strip() == "hello from docker-user-example"
