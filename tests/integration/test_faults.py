# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults the collection must survive, each provoked for real.

Already covered elsewhere, so not repeated here: the docker_engine role restarting dockerd
after SIGKILL with a stale pidfile, refusing a corrupt daemon.json and rolling back a
daemon.json that stops dockerd from starting (molecule/docker_engine side_effect.yml).

Here:
* daemon.json writes are atomic: the real docker_daemon_config module is killed (SIGKILL)
  between writing its temporary file and the rename, and at random moments of many runs;
  the file is always the old or the new document, never truncated, and the next run works;
* corrupt daemon.json variants are refused and left byte for byte, mtime included;
* a stale dockerd pidfile, both for a dead pid and for a pid reused by another process, is
  handled by scripts/ensure-dockerd.sh and by the docker_engine role's supervisor script
  (run inside a throwaway privileged-equivalent container, never on the host's dockerd);
* a node container removed behind Ansible's back is recreated by the next converge and put
  back in the inventory; a node whose dockerd was stopped gets it back on the next converge.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

REPO = Path(snapshot.REPO_ROOT)
MODULE = "ansible_collections.nested.hosts.plugins.modules.docker_daemon_config"
BASE_IMAGE = "nested-hosts/base:bookworm"
ENGINE_CONTAINER = "nhtest-rel-fault-engine"
# The shared shell library, mounted at the same place below /nh as in the checkout (ensure-dockerd.sh
# sources it relative to itself).
LIB = "roles/docker_engine/files/nested-hosts-lib.sh"
NODE = "nhtest-rel-fault-1"


# The node and engine fault tests start from the real images (see conftest.py).
pytestmark = pytest.mark.usefixtures("converged_images")


def _collections_root() -> str:
    return os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]


def _run_module(args: dict[str, Any], tmp: Path, kill_on_rename: bool = False) -> subprocess.Popen[str]:
    """Start docker_daemon_config as a plain Python process (the way Ansible runs it)."""
    args_file = tmp / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    code = (
        "import os, runpy, signal, sys\n"
        # atomic_move (AnsibleModule) renames the temporary file over daemon.json with os.rename.
        + ("os.rename = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n" if kill_on_rename else "")
        + f"sys.argv = ['docker_daemon_config', {str(args_file)!r}]\n"
        + f"runpy.run_module({MODULE!r}, run_name='__main__')\n"
    )
    env = dict(os.environ, PYTHONPATH=_collections_root())
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def test_daemon_json_write_killed_before_rename_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "daemon.json"
    target.parent.mkdir()
    original = '{\n  "log-level": "info"\n}\n'
    target.write_text(original)
    proc = _run_module({"path": str(target), "options": {"debug": True, "labels": ["x"] * 500}}, tmp_path, True)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the module was not killed at os.rename: rc={proc.returncode} {err}"
    assert target.read_text() == original, "daemon.json changed although the rename never happened"
    # SIGKILL leaves no chance to remove the temporary file; it must not be mistaken for the
    # configuration (dockerd reads daemon.json only) and the next run must succeed.
    print("left after SIGKILL:", _leftovers(target.parent, {"daemon.json"}))
    proc = _run_module({"path": str(target), "options": {"debug": True}}, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err or out
    assert json.loads(target.read_text()) == {"log-level": "info", "debug": True}


def test_daemon_json_never_truncated_under_random_sigkill(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "daemon.json"
    target.parent.mkdir()
    docs = [
        {"log-level": "info", "labels": [f"nhtest-rel-a-{i}" for i in range(20000)]},
        {"log-level": "warn", "labels": [f"nhtest-rel-b-{i}" for i in range(20000)]},
    ]
    target.write_text(json.dumps(docs[0]))
    rng = random.Random(8)
    killed = 0
    for round_no in range(16):
        doc = docs[(round_no + 1) % 2]
        proc = _run_module({"path": str(target), "options": doc, "list_merge": "replace"}, tmp_path)
        time.sleep(rng.uniform(0.05, 0.6))
        if proc.poll() is None:
            proc.kill()
            killed += 1
        proc.communicate(timeout=60)
        current = json.loads(target.read_text())  # raises on a truncated file
        assert current in docs, f"round {round_no}: daemon.json is neither the old nor the new document"
    print(f"16 runs, {killed} killed mid-run; daemon.json always parsed and was one of the two documents")
    assert killed > 0, "no run was interrupted: the timing window missed every run"


CORRUPT = {
    "truncated": b'{"debug": true,',
    "not-an-object": b'["debug"]\n',
    "not-utf8": b'{"debug": "\xff\xfe"}\n',
}


def test_corrupt_daemon_json_refused_and_untouched(tmp_path: Path) -> None:
    tasks = []
    for name, data in CORRUPT.items():
        (tmp_path / f"{name}.json").write_bytes(data)
        os.utime(tmp_path / f"{name}.json", (1_000_000_000, 1_000_000_000))
        tasks.append(
            {
                "name": name,
                "nested.hosts.docker_daemon_config": {
                    "path": str(tmp_path / f"{name}.json"),
                    "options": {"debug": False},
                },
                "register": f"nhrel_{name.replace('-', '_')}",
                "failed_when": False,
            }
        )
    playbook = tmp_path / "corrupt.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    rc, out, stderr = snapshot.run_playbook(str(playbook))
    assert rc == 0, stderr[-2000:]
    results = {name: r for name, _h, r in snapshot.task_results(out)}
    for name, data in CORRUPT.items():
        path = tmp_path / f"{name}.json"
        result = results[name]
        assert result.get("failed_when_result") is False and "msg" in result, result
        assert str(path) in result["msg"], f"{name}: the error does not name the file: {result['msg']}"
        assert path.read_bytes() == data, f"{name}: the corrupt file was rewritten"
        assert path.stat().st_mtime == 1_000_000_000, f"{name}: the corrupt file was touched"
    assert _leftovers(tmp_path, {f"{n}.json" for n in CORRUPT} | {"corrupt.yml"}) == []


# --- stale pidfile ---------------------------------------------------------------------------
def _docker(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return snapshot.docker(*args, check=check, timeout=timeout)


def _cap_drop() -> list[str]:
    """Capabilities missing from this process's bounding set (the privileged-equivalent recipe)."""
    names = {24: "SYS_RESOURCE"}
    with open("/proc/self/status", encoding="ascii") as handle:
        bnd = int(next(line for line in handle if line.startswith("CapBnd:")).split()[1], 16)
    return [names.get(bit, str(bit)) for bit in range(41) if not bnd >> bit & 1]


@pytest.fixture(scope="module")
def engine_box() -> Any:
    """A container with dockerd installed but not running, the two scripts copied in."""
    tmp = Path(tempfile.mkdtemp(prefix="nhtest-rel-fault-"))
    template = tmp / "render.yml"
    template.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "render the supervisor script as the docker_engine role does",
                            "ansible.builtin.template": {
                                "src": str(REPO / "roles/docker_engine/templates/nested-hosts-dockerd.sh.j2"),
                                "dest": str(tmp / "supervisor"),
                                "mode": "0755",
                            },
                            "vars": {
                                "docker_engine_pidfile": "/var/run/docker.pid",
                                "docker_engine_log_file": "/var/log/dockerd.log",
                                "docker_engine_start_timeout": 30,
                                "docker_engine_log_tail_lines": 20,
                                "docker_engine_dockerd_args": [],
                            },
                        }
                    ],
                }
            ]
        )
    )
    rc, out, stderr = snapshot.run_playbook(str(template))
    assert rc == 0, snapshot.failures(out) or stderr
    _docker("rm", "-f", ENGINE_CONTAINER, check=False)
    flags = ["--cap-add", "ALL"]
    for cap in _cap_drop():
        flags += ["--cap-drop", cap]
    _docker(
        "run", "-d", "--name", ENGINE_CONTAINER, *flags,
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--device-cgroup-rule", "a *:* rwm", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        "-v", f"{ENGINE_CONTAINER}-lib:/var/lib/docker",
        "-v", f"{REPO / 'scripts/ensure-dockerd.sh'}:/nh/scripts/ensure-dockerd.sh:ro",
        "-v", f"{REPO / LIB}:/nh/{LIB}:ro",
        "-v", f"{tmp / 'supervisor'}:/nh/supervisor:ro",
        BASE_IMAGE, "sleep", "infinity",
    )  # fmt: skip
    yield ENGINE_CONTAINER
    _docker("rm", "-f", ENGINE_CONTAINER, check=False)
    _docker("volume", "rm", f"{ENGINE_CONTAINER}-lib", check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def _box(container: str, script: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return _docker("exec", container, "bash", "-c", script, check=False, timeout=timeout)


STOP_DOCKERD = """
if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null \
   && [ "$(cat /proc/$(cat /var/run/docker.pid)/comm)" = dockerd ]; then
  pid=$(cat /var/run/docker.pid); kill -TERM "$pid"
  for _ in $(seq 30); do [ -d /proc/$pid ] || break; sleep 1; done
fi
pkill -KILL -x sleep || true
rm -f /var/run/docker.pid
"""


@pytest.mark.parametrize("script", ["ensure-dockerd.sh", "supervisor"])
@pytest.mark.parametrize("stale", ["dead-pid", "reused-pid"])
def test_stale_pidfile(engine_box: str, script: str, stale: str) -> None:
    """A pidfile naming a dead pid, or a live process that is not dockerd, must not stop dockerd."""
    if stale == "dead-pid":
        setup = "sleep 60 & p=$!; kill -KILL $p; wait $p 2>/dev/null; echo $p > /var/run/docker.pid"
    else:
        setup = "setsid sleep 600 >/dev/null 2>&1 < /dev/null & echo $! > /var/run/docker.pid"
    run = (
        "/nh/supervisor start"
        if script == "supervisor"
        else "env DOCKERD_LOG=/var/log/dockerd.log bash /nh/scripts/ensure-dockerd.sh"
    )
    proc = _box(
        engine_box,
        f"{STOP_DOCKERD}\n{setup}\nstale=$(cat /var/run/docker.pid)\n"
        f"timeout 25 {run}; rc=$?\n"
        'echo "rc=$rc stale=$stale now=$(cat /var/run/docker.pid 2>/dev/null)"\n'
        "docker info --format 'driver={{.Driver}}' || tail -n 5 /var/log/dockerd.log\n"
        f"{STOP_DOCKERD}",
    )
    print(proc.stdout)
    last = proc.stdout
    assert "driver=overlay2" in last, (
        f"{script} with a {stale} pidfile did not get dockerd running:\n{last}\n{proc.stderr}"
    )
    assert "rc=0" in last, f"{script} exited non-zero:\n{last}"


# --- nodes -----------------------------------------------------------------------------------
def _node_play(tmp: Path, name: str, state: str = "present") -> str:
    variables = {
        "node_names": [NODE],
        "node_groups": ["nhrel_fault"],
        "node_state": state,
    }
    plays: list[dict[str, Any]] = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "converge the node",
                    "ansible.builtin.include_role": {"name": "nested.hosts.node"},
                    "vars": variables,
                }
            ],
        }
    ]
    if state == "present":
        plays.append(
            {
                "hosts": "nhrel_fault",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "reach the node through the inventory",
                        "ansible.builtin.command": {"argv": ["docker", "info", "--format", "{{ '{{.Driver}}' }}"]},
                        "changed_when": False,
                    }
                ],
            }
        )
    path = tmp / f"{name}.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    return str(path)


def _node_id() -> str:
    proc = _docker("inspect", "--format", "{{.Id}}", NODE, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _reached(out: dict[str, Any]) -> dict[str, Any]:
    return {h: r for n, h, r in snapshot.task_results(out) if n == "reach the node through the inventory"}


def test_node_removed_or_dockerd_stopped_is_repaired(tmp_path: Path) -> None:
    try:
        rc, out, stderr = snapshot.run_playbook(_node_play(tmp_path, "first"))
        assert rc == 0, snapshot.failures(out) or stderr[-2000:]
        first_id = _node_id()
        assert first_id

        _docker("rm", "-f", NODE)  # behind Ansible's back
        rc, out, stderr = snapshot.run_playbook(_node_play(tmp_path, "after-rm"))
        assert rc == 0, snapshot.failures(out) or stderr[-2000:]
        second_id = _node_id()
        assert second_id and second_id != first_id, "the removed node was not recreated"
        assert _reached(out).get(NODE, {}).get("stdout") == "overlay2", (
            f"node not back in the inventory: {_reached(out)}"
        )

        # dockerd stopped inside the node (a kill that systemd does not undo)
        _docker("exec", NODE, "systemctl", "stop", "docker.socket", "docker.service")
        assert _docker("exec", NODE, "docker", "info", check=False).returncode != 0
        rc, out, stderr = snapshot.run_playbook(_node_play(tmp_path, "after-stop"))
        assert rc == 0, snapshot.failures(out) or stderr[-2000:]
        assert _node_id() == second_id, "the node was recreated instead of repaired"
        assert _reached(out).get(NODE, {}).get("stdout") == "overlay2", f"dockerd not back: {_reached(out)}"
    finally:
        snapshot.run_playbook(_node_play(tmp_path, "absent", "absent"))
    assert _node_id() == ""
    assert _docker("volume", "inspect", f"{NODE}-docker", check=False).returncode != 0, "node volume left behind"
