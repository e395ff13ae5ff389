# SPDX-License-Identifier: GPL-3.0-or-later
"""The main job, end to end: `make demo` twice, a role at depth 3, then `make demo-clean`.

Proves on this machine what the README promises: nesting to depth 3 with every level able to
nest Docker, a second run that changes nothing, and a clean-up that leaves no demo objects.
While the levels run, the nested.hosts.nested connection is also used read-only at depth 3
(pipelined modules, become, the collection's own module and a fetch).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import snapshot

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = REPO_ROOT / "build" / "demo"
NESTED_SOURCE = REPO_ROOT / "playbooks" / "inventory" / "demo.nested.yml"
DEPTH3_PLAY = REPO_ROOT / "tests" / "integration" / "files" / "depth3_role.yml"
DEMO_CHAIN = ["nhdemo-node-1", "nhdemo-dind-1", "nhdemo-d3"]
# What the demo records of the images it created (playbooks/vars/demo.yml: nhdemo_state_file).
DEMO_STATE = Path("/var/lib/nested-hosts/demo-state.json")
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _make(target: str, log_name: str) -> tuple[str, float]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / log_name
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    proc = subprocess.run(["make", "--no-print-directory", target], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    output = proc.stdout + proc.stderr
    log_path.write_text(output)
    print(f"make {target}: exit {proc.returncode} in {elapsed:.0f} s (log: {log_path})")
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-60:])
        pytest.fail(f"make {target} exited {proc.returncode}; log tail:\n{tail}")
    return output, elapsed


def _ansible(tool: str, *args: str) -> str:
    """Run an Ansible CLI of this virtualenv; fail with its output unless it exits 0."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    argv = [str(Path(sys.executable).with_name(tool)), *args]
    proc = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout


def _graph_groups(graph: str) -> dict[str, set[str]]:
    """Group name -> the hosts listed right below it in `ansible-inventory --graph` output."""
    groups: dict[str, set[str]] = {}
    current = None
    for line in graph.splitlines():
        name = line.lstrip(" |-")
        if name.startswith("@"):
            current = groups.setdefault(name[1:].rstrip(":"), set())
        elif current is not None and name:
            current.add(name)
    return groups


def _docker_names(kind: str) -> list[str]:
    args = {"container": ["ps", "-a"], "volume": ["volume", "ls"]}[kind]
    out = subprocess.run(["docker", *args, "--format", "{{.Names}}" if kind == "container" else "{{.Name}}"],
                         capture_output=True, text=True, check=True).stdout
    return [n for n in out.split() if n.startswith("nhdemo-")]


def _depth3_read_only(tmp: Path) -> None:
    """Modules, become, nesting_facts and a fetch at depth 1 and depth 3 of the demo's chain,
    compared with what plain `docker exec` through the same levels reads."""
    fetched = tmp / "fetched"
    hosts = {"d1": {"ansible_nested_chain": DEMO_CHAIN[:1]}, "d3": {"ansible_nested_chain": DEMO_CHAIN}}
    tasks = [
        {"name": "ping", "ansible.builtin.ping": {}},
        {"name": "command", "ansible.builtin.command": "cat /etc/hostname", "changed_when": False},
        {"name": "setup", "ansible.builtin.setup": {"gather_subset": ["min"]}},
        {"name": "become nobody", "ansible.builtin.command": "id -un", "become": True, "become_user": "nobody",
         "changed_when": False},
        {"name": "nesting facts", "nested.hosts.nesting_facts": {}},
        {"name": "fetch", "ansible.builtin.fetch": {"src": "/etc/os-release", "flat": True,
                                                    "dest": f"{fetched}/{{{{ inventory_hostname }}}}/"}},
    ]
    rc, out, err = snapshot.run_chain_play(
        tmp, hosts, [{"name": "depth 3", "hosts": "chain", "gather_facts": False, "tasks": tasks}], pipelining=True)
    assert rc == 0, snapshot.failures(out) or err
    res = {(name, host): result for name, host, result in snapshot.task_results(out)}
    direct = ["docker"] + [arg for name in DEMO_CHAIN[:-1] for arg in ("exec", name, "docker")] + ["exec", DEMO_CHAIN[-1]]
    hostname = subprocess.run(direct + ["cat", "/etc/hostname"], capture_output=True, text=True, check=True).stdout
    assert res[("command", "d3")]["stdout"] == hostname.strip()
    assert res[("command", "d3")]["stdout"] != res[("command", "d1")]["stdout"]
    assert res[("become nobody", "d3")]["stdout"] == "nobody"
    assert res[("setup", "d3")]["ansible_facts"]["ansible_distribution"] == "Debian"
    assert isinstance(res[("nesting facts", "d3")]["can_nest_docker"], bool), "the collection's own module at depth 3"
    os_release = subprocess.run(direct + ["cat", "/etc/os-release"], capture_output=True, check=True).stdout
    assert (fetched / "d3" / "os-release").read_bytes() == os_release
    assert out["stats"]["d3"]["failures"] == 0 and out["stats"]["d3"]["unreachable"] == 0


def _observe_depth3(tmp: Path, d3_row: dict) -> None:
    """nested.hosts.verify's observe path: the depth-3 container read from this machine through
    /proc/<pid>/root of each level (no connection into it) says what the level said of itself."""
    inventory = tmp / "observe.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "nhobserved-d3": {"nested_hosts_depth": 3, "nested_hosts_observe_via": "localhost",
                          "nested_hosts_observe_chain": DEMO_CHAIN}}}}))
    _ansible("ansible-playbook", "-i", str(inventory), str(REPO_ROOT / "playbooks" / "verify.yml"),
             "-e", "nested_hosts_verify_hosts=nhobserved-d3", "-e", f"nested_hosts_verify_report_dir={tmp / 'observed'}")
    row = json.loads((tmp / "observed" / "report.json").read_text())["rows"][0]
    assert row["host"] == "nhobserved-d3" and row["error"] is None, row
    assert re.fullmatch(r"(/proc/[1-9]\d*/root){3}", row["facts"]["observed_through"]), row["facts"]["observed_through"]
    for key in ("in_container", "cgroup_version", "cgroupns", "profile", "can_nest", "capabilities_missing", "runtime"):
        assert row[key] == d3_row[key], f"{key}: observed {row[key]!r}, the level itself said {d3_row[key]!r}"
    print(f"observed through {row['facts']['observed_through']}: {row['profile']}, cgroup {row['cgroup_version']}")


def _task_output(log: str, task: str) -> str:
    """What the default callback printed under the task's header, up to the next header."""
    found = re.search(r"^TASK \[" + re.escape(task) + r"\][^\n]*\n(?P<body>.*?)(?=^TASK \[|^PLAY)", log, re.M | re.S)
    assert found, f"no task {task!r} in the log"
    return found["body"]


def test_demo_reaches_depth_3_is_idempotent_and_cleans_up(tmp_path: Path) -> None:
    first, first_s = _make("demo", "demo-first.log")
    report = json.loads((REPO_ROOT / "reports" / "report.json").read_text())
    levels = {row["host"]: row for row in report["rows"]}
    assert report["summary"]["max_depth"] == 3, report["summary"]
    assert report["summary"]["all_can_nest"] is True, report["summary"]
    assert {"localhost", "nhdemo-node-1", "nhdemo-node-2", "nhdemo-dind-1", "nhdemo-d3"} <= set(levels)
    assert "max depth reached: 3" in first
    # Each image the demo created is recorded with the ID it has now, which demo_clean compares.
    record = json.loads(DEMO_STATE.read_text())["created_images"]
    for name, image_id in record.items():
        now = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", name], capture_output=True, text=True, check=False)
        assert image_id and image_id == now.stdout.strip(), f"{name} recorded as {image_id!r}, is {now.stdout.strip()!r}"
    print(f"demo state: {record}")

    second, second_s = _make("demo", "demo-second.log")
    recaps = RECAP.findall(second)
    assert recaps, "no PLAY RECAP in the second run"
    changed = {host: int(c) for host, _ok, c, _u, _f in recaps}
    assert all(c == 0 for c in changed.values()), f"second demo run changed something: {changed}"
    # The new dind container's daemon is waited for; once converged, it answered the certificate read
    # in the same exec and is not asked again.
    wait = "nested.hosts.dind : Wait until the inner daemons answer"
    assert "(item=nhdemo-dind-1)" in _task_output(first, wait), _task_output(first, wait)
    converged = _task_output(second, wait)
    assert "skipping: [nhdemo-node-1]" in converged and "(item=" not in converged, converged
    timing = f"demo wall time: first {first_s:.0f} s, second {second_s:.0f} s"
    print(timing)
    (LOG_DIR / "timings.txt").write_text(timing + "\n")

    # Every level is a host: the nested inventory plugin finds them, and a role runs at depth 3.
    graph = _ansible("ansible-inventory", "-i", str(NESTED_SOURCE), "--graph")
    print(graph)
    groups = _graph_groups(graph)
    for group, host in (("nested_hosts_depth_1", "nhdemo-node-1"), ("nested_hosts_depth_2", "nhdemo-dind-1"),
                        ("nested_hosts_depth_3", "nhdemo-d3")):
        assert host in groups.get(group, set()), f"{host} not in {group}:\n{graph}"
    run = _ansible("ansible-playbook", "-i", str(NESTED_SOURCE), str(DEPTH3_PLAY))
    (LOG_DIR / "depth3-role.log").write_text(run)
    print("\n".join(run.splitlines()[-4:]))
    assert "depth 4 said: depth 4 ran" in run
    assert re.search(r"^nhdemo-d3\s+:\s+ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", run, re.M), run[-2000:]
    _depth3_read_only(tmp_path)
    _observe_depth3(tmp_path, levels["nhdemo-d3"])

    _make("demo-clean", "demo-clean.log")
    assert _docker_names("container") == []
    assert _docker_names("volume") == []
