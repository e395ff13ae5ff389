# SPDX-License-Identifier: GPL-3.0-or-later
"""Every role in check mode: on a fresh target it reports what it would change and changes
nothing (same host snapshot); on a converged target it reports no change.

Targets are chosen to be cheap and never to touch the host's own Docker setup: daemon.json and
the dockerd supervisor live under a temporary directory, images and containers are named
``nhtest-rel-*``. Where a converged target cannot be made on a shared host (docker_engine
would supervise the host's dockerd; sysbox needs systemd as PID 1) the test says so and the
Molecule scenario that covers it is named.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

BASE_IMAGE = "nested-hosts/base:bookworm"
NODE_IMAGE = "nested-hosts/node:bookworm"


# The "converged" checks need the images built for real first (see conftest.py).
pytestmark = pytest.mark.usefixtures("converged_images")


def _image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode == 0


def _play(tmp: Path, name: str, role: str, variables: dict[str, Any]) -> str:
    path = tmp / f"{name}.yml"
    task = {
        "name": f"apply {role}",
        "ansible.builtin.include_role": {"name": f"nested.hosts.{role}"},
        "vars": variables,
    }
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [task]}], sort_keys=False))
    return str(path)


def _run(playbook: str, check: bool, paths: list[str]) -> tuple[list[str], list[str]]:
    """Run; return (changed task names, snapshot differences). Fails the test when the run fails."""
    before = snapshot.take(paths)
    rc, out, stderr = snapshot.run_playbook(playbook, check=check)
    after = snapshot.take(paths)
    assert rc == 0, f"{playbook} (check={check}) failed: {snapshot.failures(out) or stderr[-3000:]}"
    return snapshot.changed_tasks(out), snapshot.diff(before, after, snapshot.foreign_pattern())


@pytest.fixture
def tmp() -> Any:
    path = Path(tempfile.mkdtemp(prefix="nhtest-rel-check-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_docker_daemon_config(tmp: Path) -> None:
    """Fresh (no file): check mode says changed and writes nothing; converged: no change."""
    target = tmp / "etc" / "daemon.json"
    target.parent.mkdir()
    tasks = [
        {"name": "fresh", "nested.hosts.docker_daemon_config": {"path": str(target), "options": {"log-level": "info"}}, "check_mode": True},
        {"name": "stat after fresh check", "ansible.builtin.stat": {"path": str(target)}},
        {"name": "apply", "nested.hosts.docker_daemon_config": {"path": str(target), "options": {"log-level": "info"}}},
        {"name": "converged", "nested.hosts.docker_daemon_config": {"path": str(target), "options": {"log-level": "info"}}, "check_mode": True},
        {"name": "other change", "nested.hosts.docker_daemon_config": {"path": str(target), "options": {"debug": True}}, "check_mode": True},
    ]  # fmt: skip
    playbook = tmp / "daemon_config.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    rc, out, stderr = snapshot.run_playbook(str(playbook))
    assert rc == 0, snapshot.failures(out) or stderr[-2000:]
    results = {name: r for name, _h, r in snapshot.task_results(out)}
    assert results["fresh"]["changed"] is True
    assert results["stat after fresh check"]["stat"]["exists"] is False, "check mode wrote daemon.json"
    assert results["apply"]["changed"] is True
    assert results["converged"]["changed"] is False
    assert results["other change"]["changed"] is True
    assert json.loads(target.read_text()) == {"log-level": "info"}, "check mode altered the converged file"


def test_docker_engine_fresh_target(tmp: Path) -> None:
    """Check mode on a target whose daemon.json and supervisor script do not exist yet.

    The converged case needs dockerd supervised by the role, which this shared host must not
    do to its own dockerd; molecule/docker_engine (test_check_mode_on_converged_host_changes_nothing)
    covers it inside a container.
    """
    variables = {
        "docker_engine_service_manager": "script",
        "docker_engine_supervisor_path": str(tmp / "sbin" / "nested-hosts-dockerd"),
        "docker_engine_daemon_config_path": str(tmp / "docker" / "daemon.json"),
        "docker_engine_daemon_options": {"debug": True},  # reloadable: no restart planned
    }
    (tmp / "docker").mkdir()  # as after installing docker.io: /etc/docker exists, daemon.json not
    changed, diff = _run(_play(tmp, "engine", "docker_engine", variables), True, [str(tmp)])
    assert diff == [], "check mode changed the host:\n" + "\n".join(diff)
    print("would change:", changed)
    assert any("supervisor script" in name for name in changed), changed
    assert any("Write daemon.json" in name for name in changed), changed


def test_docker_engine_new_config_directory(tmp: Path) -> None:
    """docker_engine_daemon_config_path in a directory that a real run would create first."""
    variables = {
        "docker_engine_service_manager": "script",
        "docker_engine_supervisor_path": str(tmp / "sbin" / "nested-hosts-dockerd"),
        "docker_engine_daemon_config_path": str(tmp / "new" / "daemon.json"),
        "docker_engine_daemon_options": {"debug": True},  # reloadable: no restart planned
    }
    changed, diff = _run(_play(tmp, "engine-newdir", "docker_engine", variables), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    assert any("Write daemon.json" in name for name in changed), changed


def test_base_image(tmp: Path) -> None:
    fresh = {
        "base_image_name": "nhtest-rel/base",
        "base_image_tag": "check",
        "base_image_source": "debootstrap",
        "base_image_work_dir": str(tmp),
    }
    changed, diff = _run(_play(tmp, "base-fresh", "base_image", fresh), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    assert changed, "check mode on a missing image reported no change"
    assert not _image_exists("nhtest-rel/base:check")
    converged = {"base_image_source": "debootstrap", "base_image_work_dir": str(tmp)}
    rc, out, _err = snapshot.run_playbook(_play(tmp, "base-conv", "base_image", converged), check=True)
    facts = [r for n, _h, r in snapshot.task_results(out) if n.endswith("Decide whether to build")]
    if facts and facts[0].get("ansible_facts", {}).get("__base_image_needs_build"):
        pytest.skip(f"{BASE_IMAGE} was built from another recipe than the debootstrap defaults")
    assert rc == 0 and not snapshot.changed_tasks(out), snapshot.changed_tasks(out) or snapshot.failures(out)


def test_node_image_fresh(tmp: Path) -> None:
    fresh = {"node_image_name": "nhtest-rel/node", "node_image_tag": "check", "node_image_build_dir": str(tmp / "ctx")}
    changed, diff = _run(_play(tmp, "ni-fresh", "node_image", fresh), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    assert changed, "check mode on a missing node image reported no change"
    assert not _image_exists("nhtest-rel/node:check")


def test_node_image_converged(tmp: Path) -> None:
    ctx = tmp / "ctx"
    ctx.mkdir()
    changed, diff = _run(_play(tmp, "ni-conv", "node_image", {"node_image_build_dir": str(ctx)}), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    # The build context is rendered only for a build; the image itself must not be rebuilt.
    assert not [n for n in changed if "Build the node image" in n], f"check mode would rebuild {NODE_IMAGE}: {changed}"


@pytest.fixture
def node(tmp: Path) -> Any:
    variables = {"node_names": ["nhtest-rel-ck-1"], "node_groups": ["nhrel"]}
    yield variables
    snapshot.run_playbook(_play(tmp, "node-absent", "node", variables | {"node_state": "absent"}))


def test_node(tmp: Path, node: dict[str, Any]) -> None:
    changed, diff = _run(_play(tmp, "node-fresh", "node", node), True, [str(tmp)])
    assert diff == [], "check mode on a fresh host changed it:\n" + "\n".join(diff)
    assert any("Run the node containers" in name for name in changed), changed
    changed, _diff = _run(_play(tmp, "node-real", "node", node), False, [str(tmp)])
    assert any("Run the node containers" in name for name in changed), changed
    changed, diff = _run(_play(tmp, "node-conv", "node", node), True, [str(tmp)])
    assert diff == [], "check mode on the converged node changed the host:\n" + "\n".join(diff)
    assert changed == [], f"check mode on a converged node reports changes: {changed}"


def test_dind_fresh_target(tmp: Path) -> None:
    """A fresh controller (no CA yet) and no dind container: check mode must plan, not fail."""
    variables = {
        "dind_cert_dir": str(tmp / "certs"),
        "dind_work_dir": str(tmp),
        "dind_add_to_inventory": False,
        "dind_containers": [{"name": "nhtest-rel-ck-d1"}],
    }
    changed, diff = _run(_play(tmp, "dind-fresh", "dind", variables), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    assert any("Run the dind containers" in name for name in changed), changed


def test_sysbox_absent_when_not_installed(tmp: Path) -> None:
    """sysbox_state=absent on a host without Sysbox is converged: check mode reports no change.

    sysbox_state=present needs systemd as PID 1 (not on this machine); molecule/sysbox runs it
    inside a systemd node.
    """
    daemon_json = tmp / "daemon.json"
    daemon_json.write_text('{\n  "log-level": "info"\n}\n')
    variables = {
        "sysbox_state": "absent",
        "sysbox_daemon_json_path": str(daemon_json),
        "sysbox_sysctl_file": str(tmp / "sysctl.conf"),
    }
    changed, diff = _run(_play(tmp, "sysbox-absent", "sysbox", variables), True, [str(tmp)])
    assert diff == [], "\n".join(diff)
    assert changed == [], f"sysbox absent on a host without Sysbox reports changes: {changed}"
