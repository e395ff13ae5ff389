# SPDX-License-Identifier: GPL-3.0-or-later
"""Secure defaults, each proven by running the collection's own code.

* Generated private keys are mode 0600 (and their directories 0700) even under umask 000:
  the dind role's certs.yml is run for real into a temporary directory.
* The dind role turns TLS on by default and publishes nothing unless asked, and then only on
  127.0.0.1: the role runs in check mode and the parameters it would pass to
  community.docker.docker_container are read back.
* The dind entrypoint never opens plain TCP beyond loopback: it runs in a throwaway container
  with a stand-in ``dockerd`` that prints its arguments, for each TLS/plain-TCP combination.
* Socket sharing and privileged(-equivalent) containers are flagged in nesting_facts.risks and
  in the report (table, report.json, report.html) made by nesting_report, on captured trees.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import snapshot
import yaml

REPO = Path(snapshot.REPO_ROOT)
FIXTURES = REPO / "tests" / "unit" / "fixtures"
ENTRYPOINT = REPO / "roles" / "dind" / "files" / "dind-entrypoint.sh"
LIB = REPO / "roles" / "docker_engine" / "files" / "nested-hosts-lib.sh"
IMAGES = ("nested-hosts/base:bookworm", "nh-scratch/base:dev")


def _play(path: Path, tasks: list[dict[str, Any]]) -> str:
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def certs() -> Any:
    """A certificate directory filled by the dind role's certs.yml, run under umask 000."""
    tmp = Path(tempfile.mkdtemp(prefix="nhtest-rel-sec-"))
    cert_dir = tmp / "certs"
    playbook = _play(
        tmp / "certs.yml",
        [
            {
                "name": "Generate the CA and client certificate as the dind role does",
                "ansible.builtin.include_role": {"name": "nested.hosts.dind", "tasks_from": "certs"},
                "vars": {"dind_cert_dir": str(cert_dir)},
            }
        ],
    )
    old = os.umask(0)
    try:
        rc, out, stderr = snapshot.run_playbook(playbook)
    finally:
        os.umask(old)
    assert rc == 0, f"certs.yml failed: {snapshot.failures(out) or stderr[-2000:]}"
    yield tmp, cert_dir
    shutil.rmtree(tmp, ignore_errors=True)


def test_generated_private_keys_are_0600_under_umask_000(certs: Any) -> None:
    _tmp, cert_dir = certs
    keys = sorted(p for p in cert_dir.rglob("*") if p.is_file() and "key" in p.name)
    assert {p.relative_to(cert_dir).as_posix() for p in keys} == {"ca/ca-key.pem", "client/key.pem"}
    for key in keys:
        mode = stat.S_IMODE(key.stat().st_mode)
        assert mode == 0o600, f"{key} has mode {mode:o}, expected 600"
        assert "PRIVATE KEY" in key.read_text()
    for directory in [cert_dir, *(p for p in cert_dir.rglob("*") if p.is_dir())]:
        mode = stat.S_IMODE(directory.stat().st_mode)
        assert mode == 0o700, f"{directory} has mode {mode:o}, expected 700"
    for path in cert_dir.rglob("*"):
        assert not stat.S_IMODE(path.stat().st_mode) & 0o002, f"{path} is world-writable"


def test_dind_role_defaults_to_tls_and_loopback_publishing(certs: Any) -> None:
    tmp, cert_dir = certs
    playbook = _play(
        tmp / "dind-check.yml",
        [
            {
                "name": "Plan two dind containers with default settings",
                "ansible.builtin.include_role": {"name": "nested.hosts.dind"},
                "vars": {
                    "dind_cert_dir": str(cert_dir),
                    "dind_work_dir": str(tmp),
                    "dind_add_to_inventory": False,
                    "dind_containers": [
                        {"name": "nhtest-rel-sec-default"},
                        {"name": "nhtest-rel-sec-published", "published_port": 12376},
                    ],
                },
            }
        ],
    )
    before = snapshot.take([str(tmp)])
    rc, out, stderr = snapshot.run_playbook(playbook, check=True)
    after = snapshot.take([str(tmp)])
    assert rc == 0, f"dind check mode failed: {snapshot.failures(out) or stderr[-2000:]}"
    planned = {}
    for name, _host, result in snapshot.task_results(out):
        if name.endswith(": Run the dind containers") and "results" in result:
            for item in result["results"]:
                args = item["invocation"]["module_args"]
                planned[args["name"]] = args
    assert set(planned) == {"nhtest-rel-sec-default", "nhtest-rel-sec-published"}, planned.keys()
    for name, args in planned.items():
        assert args["env"]["DIND_TLS"] == "1", f"{name}: TLS is not on by default: {args['env']}"
        assert args["env"]["DIND_PLAIN_TCP"] == "0", f"{name}: plain TCP is on by default"
        assert args["env"]["DIND_TLS_PORT"] == "2376"
    assert not planned["nhtest-rel-sec-default"]["published_ports"], "a port is published without being asked"
    assert planned["nhtest-rel-sec-published"]["published_ports"] == ["127.0.0.1:12376:2376"]
    snapshot.assert_unchanged(before, after, "dind in check mode")


def _image() -> str | None:
    for image in IMAGES:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0:
            return image
    return None


ENTRY_CASES = {
    # name: (environment, TCP listeners dockerd must get)
    "default": ({}, ["tcp://0.0.0.0:2376"]),
    "tls-off": ({"DIND_TLS": "0"}, []),
    "plain-tcp": ({"DIND_TLS": "0", "DIND_PLAIN_TCP": "1"}, ["tcp://127.0.0.1:2375"]),
    "plain-tcp-ignored-with-tls": ({"DIND_TLS": "1", "DIND_PLAIN_TCP": "1"}, ["tcp://0.0.0.0:2376"]),
}


def test_dind_entrypoint_plain_tcp_only_on_loopback(tmp_path: Path) -> None:
    image = _image()
    if image is None:
        pytest.skip(f"none of {IMAGES} is on this daemon; build one with the base_image role")
    fake = tmp_path / "dockerd"
    fake.write_text('#!/bin/sh\necho "DOCKERD $*"\n')
    fake.chmod(0o755)
    certs_dir = tmp_path / "certs"
    certs_dir.mkdir()
    for name in ("ca.pem", "server-cert.pem", "server-key.pem"):
        (certs_dir / name).write_text("stand-in\n")
    script = "\n".join(
        f"( {' '.join(f'export {k}={v};' for k, v in env.items())} echo CASE {case}; sh /nh/entrypoint 2>/dev/null )"
        for case, (env, _want) in ENTRY_CASES.items()
    )
    proc = subprocess.run(
        [
            "docker", "run", "--rm", "--name", "nhtest-rel-sec-entrypoint", "--network", "none",
            "-v", f"{ENTRYPOINT}:/nh/entrypoint:ro",
            "-v", f"{LIB}:/usr/local/lib/nested-hosts/nested-hosts-lib.sh:ro",
            "-v", f"{fake}:/usr/local/sbin/dockerd:ro",
            "-v", f"{certs_dir}:/certs:ro",
            "-e", "DIND_CERT_WAIT=0",
            image, "sh", "-c", script,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, list[str]] = {}
    case = ""
    for line in proc.stdout.splitlines():
        if line.startswith("CASE "):
            case = line.split()[1]
        elif line.startswith("DOCKERD "):
            seen[case] = [a.split("=", 1)[1] for a in line.split()[1:] if a.startswith("--host=tcp://")]
            assert "--host=unix:///var/run/docker.sock" in line
            if seen[case] and seen[case][0].endswith(":2376"):
                assert "--tlsverify" in line, f"{case}: TCP 2376 without --tlsverify: {line}"
    print(json.dumps(seen))
    assert seen == {case: want for case, (_env, want) in ENTRY_CASES.items()}, proc.stdout


RISK_TREES = {
    "docker-socket-mounted": {"docker-socket-mounted"},
    "docker-privileged-equivalent": {"privileged"},
    "docker-default": set(),
}


def test_socket_and_privileged_flagged_in_facts_and_report(tmp_path: Path) -> None:
    tasks: list[dict[str, Any]] = []
    for case in RISK_TREES:
        base = FIXTURES / case
        tasks.append(
            {
                "name": f"facts {case}",
                "nested.hosts.nesting_facts": {
                    "proc_root": str(base / "proc"),
                    "sys_root": str(base / "sys"),
                    "fs_root": str(base),
                },
                "register": f"nhrel_{case.replace('-', '_')}",
            }
        )
    records = [
        {"host": case, "depth": 1, "parent": "host", "facts": f"{{{{ nhrel_{case.replace('-', '_')} }}}}"}
        for case in RISK_TREES
    ]
    records.insert(0, {"host": "host", "depth": 0, "error": "not gathered in this test"})
    tasks.append(
        {
            "name": "report",
            "nested.hosts.nesting_report": {
                "records": records,
                "json_path": str(tmp_path / "report.json"),
                "html_path": str(tmp_path / "report.html"),
            },
            "register": "nhrel_report",
        }
    )
    tasks.append({"name": "show the table", "ansible.builtin.debug": {"var": "nhrel_report.table"}})
    rc, out, stderr = snapshot.run_playbook(_play(tmp_path / "risks.yml", tasks))
    assert rc == 0, snapshot.failures(out) or stderr[-2000:]
    results = {name: r for name, _h, r in snapshot.task_results(out)}
    for case, wanted in RISK_TREES.items():
        ids = {r["id"] for r in results[f"facts {case}"]["risks"]}
        assert wanted <= ids, f"{case}: risks {ids} lack {wanted}"
        assert not ({"docker-socket-mounted", "privileged"} - wanted) & ids, f"{case}: unexpected risks {ids}"
    report = json.loads((tmp_path / "report.json").read_text())
    rows = {row["host"]: row for row in report["rows"]} if "rows" in report else None
    assert rows is not None, f"report.json has no rows: {list(report)}"
    for case, wanted in RISK_TREES.items():
        assert wanted <= {r["id"] for r in rows[case]["risks"]}, f"report.json row {case}: {rows[case]['risks']}"
    table = results["show the table"]["nhrel_report.table"]
    html = (tmp_path / "report.html").read_text()
    for risk_id in ("docker-socket-mounted", "privileged"):
        assert risk_id in table, f"{risk_id} missing from the report table:\n{table}"
        assert risk_id in html, f"{risk_id} missing from report.html"
