# SPDX-License-Identifier: GPL-3.0-or-later
"""The nested.hosts.nested connection plugin against real nested containers, through ansible-playbook.

Own chain (created here, removed after): host -> nhtest-conn-l1 (base image, privileged-equivalent,
running dockerd, also on tcp 2376 with TLS, and sshd) -> nhtest-conn-l2 (base image on l1's daemon).
l2 is also reached with an SSH first hop (ssh to l1, then docker exec) and a TLS first hop (the docker
CLI here against l1's daemon over tcp). On it: modules, copy there and
fetch back, become without and with a password (sudo prompt answered through the chain), file
ownership of the remote user, with pipelining on and off; a level removed mid-run is UNREACHABLE
with the hop named while the other hosts go on; bad options fail with one error naming the variable.

Depth 3 through the same plugin is proven on the demo's levels, while they run, by test_demo.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import snapshot

BASE_IMAGE = "nested-hosts/base:bookworm"
L1, L2 = "nhtest-conn-l1", "nhtest-conn-l2"
SUDO_USER, SUDO_PASSWORD = "nhpw", "nhtest-pw"

pytestmark = pytest.mark.usefixtures("converged_images")


def _cap_drop() -> list[str]:
    """Capabilities missing from the bounding set (computed from the bounding set, never hard-coded)."""
    names = {24: "SYS_RESOURCE"}
    with open("/proc/self/status", encoding="ascii") as handle:
        bnd = int(next(line for line in handle if line.startswith("CapBnd:")).split()[1], 16)
    return [names.get(bit, str(bit)) for bit in range(41) if not bnd >> bit & 1]


def _in_l1(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return snapshot.docker("exec", L1, "docker", *args, check=check, timeout=timeout)


def _remove_own() -> None:
    snapshot.docker("rm", "-f", L1, check=False)
    snapshot.docker("volume", "rm", f"{L1}-lib", check=False)


CERTS = """
set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem -out ca.pem \
  -days 1 -subj /CN=nhtest-conn-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server-key.pem -out server.csr -subj /CN=l1
printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$1" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile server.ext \
  -out server-cert.pem
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out client.csr -subj /CN=client
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 -extfile client.ext -out cert.pem
ssh-keygen -q -t ed25519 -N '' -f id_ed25519
"""

# Inside l1: dockerd on its socket and on tcp 2376 with TLS, and sshd for root with the test's key.
START_L1 = """
mkdir -p /root/.ssh /run/sshd && cp /nh/id_ed25519.pub /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys
/usr/sbin/sshd
exec dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/nh/ca.pem \
  --tlscert=/nh/server-cert.pem --tlskey=/nh/server-key.pem >/var/log/dockerd.log 2>&1
"""


@pytest.fixture(scope="module")
def own_chain(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """host -> nhtest-conn-l1 (dockerd, also on TLS 2376, and sshd) -> nhtest-conn-l2, with a sudo user
    that needs a password in l2. Yields the chain; ``own_chain_access`` has l1's address, certs and key."""
    _remove_own()
    flags = ["--cap-add", "ALL"]
    for cap in _cap_drop():
        flags += ["--cap-drop", cap]
    started = time.monotonic()
    certs = tmp_path_factory.mktemp("nhtest-conn-certs")
    snapshot.docker(
        "run", "-d", "--name", L1, *flags,
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm",
        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", f"{L1}-lib:/var/lib/docker",
        BASE_IMAGE, "sleep", "infinity",
    )  # fmt: skip
    try:
        address = snapshot.docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", L1).stdout.strip()
        subprocess.run(["sh", "-c", CERTS, "sh", address], cwd=certs, check=True, capture_output=True)
        snapshot.docker("exec", L1, "mkdir", "/nh")
        for name in ("ca.pem", "server-cert.pem", "server-key.pem", "id_ed25519.pub"):
            snapshot.docker("cp", str(certs / name), f"{L1}:/nh/{name}")
        snapshot.docker("exec", "-d", L1, "sh", "-c", START_L1)
        for _attempt in range(60):
            if _in_l1("info", "--format", "{{.Driver}}", check=False).returncode == 0:
                break
            time.sleep(1)
        else:
            log = snapshot.docker("exec", L1, "tail", "-n", "20", "/var/log/dockerd.log", check=False).stdout
            pytest.fail(f"dockerd in {L1} did not start:\n{log}")
        save = subprocess.Popen(["docker", "save", BASE_IMAGE], stdout=subprocess.PIPE)
        load = subprocess.run(
            ["docker", "exec", "-i", L1, "docker", "load", "-q"],
            stdin=save.stdout,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        save.wait(timeout=300)
        assert save.returncode == 0 and load.returncode == 0, f"seeding {BASE_IMAGE} into {L1}: {load.stderr}"
        _in_l1("run", "-d", "--name", L2, BASE_IMAGE, "sleep", "infinity")
        script = (
            f"useradd -m -s /bin/sh {SUDO_USER} && echo '{SUDO_USER}:{SUDO_PASSWORD}' | chpasswd"
            f" && echo '{SUDO_USER} ALL=(ALL) ALL' > /etc/sudoers.d/{SUDO_USER} && chmod 0440 /etc/sudoers.d/{SUDO_USER}"
        )
        _in_l1("exec", L2, "sh", "-c", script)
        ACCESS.update(address=address, certs=certs)
        print(f"\nown chain {L1} ({address}) > {L2} ready in {time.monotonic() - started:.1f} s")
        yield [L1, L2]
    finally:
        _remove_own()


ACCESS: dict[str, Any] = {}


def _play(
    tmp: Path, hosts: dict[str, dict[str, Any]], plays: list[dict[str, Any]], pipelining: bool = True
) -> tuple[int, dict[str, Any], str]:
    return snapshot.run_chain_play(tmp, hosts, plays, pipelining)


def _results(out: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(name, host): result for name, host, result in snapshot.task_results(out)}


def _task(name: str, **body: Any) -> dict[str, Any]:
    return {"name": name, **body}


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "no-pipelining"])
def test_modules_files_and_become_through_the_chain(own_chain: list[str], tmp_path: Path, pipelining: bool) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(3 * 1024 * 1024) + b"\x00end\n")
    fetched = tmp_path / "fetched"
    remote = f"/tmp/nhtest-conn-{'p' if pipelining else 'np'}.bin"
    tasks = [
        _task("command", **{"ansible.builtin.command": "cat /etc/hostname", "register": "out", "changed_when": False}),
        _task("setup", **{"ansible.builtin.setup": {"gather_subset": ["min"]}}),
        _task("copy", **{"ansible.builtin.copy": {"src": str(payload), "dest": remote, "mode": "0640"}}),
        _task("stat", **{"ansible.builtin.stat": {"path": remote, "checksum_algorithm": "sha256"}}),
        _task("fetch", **{"ansible.builtin.fetch": {"src": remote, "dest": f"{fetched}/", "flat": True}}),
        _task(
            "failing command keeps its rc",
            **{
                "ansible.builtin.command": "sh -c 'echo Error: No such container: x >&2; exit 3'",
                "register": "r",
                "failed_when": "r.rc != 3",
                "changed_when": False,
            },
        ),
        _task(
            "become nobody",
            **{"ansible.builtin.command": "id -un", "become": True, "become_user": "nobody", "changed_when": False},
        ),
        _task(
            "become with su from root",
            **{
                "ansible.builtin.command": "id -un",
                "become": True,
                "become_method": "ansible.builtin.su",
                "become_user": SUDO_USER,
                "changed_when": False,
            },
        ),
        _task("remove", **{"ansible.builtin.file": {"path": remote, "state": "absent"}}),
    ]
    password_tasks = [
        _task(
            "copy as the remote user",
            **{"ansible.builtin.copy": {"content": "mine\n", "dest": f"/home/{SUDO_USER}/owned.txt", "mode": "0600"}},
        ),
        _task("stat owner", **{"ansible.builtin.stat": {"path": f"/home/{SUDO_USER}/owned.txt"}}),
        _task(
            "become with a sudo password",
            **{"ansible.builtin.command": "id -un", "become": True, "changed_when": False},
        ),
    ]
    hosts = {
        "l2": {"ansible_nested_chain": own_chain},
        "l2pw": {
            "ansible_nested_chain": own_chain,
            "ansible_nested_user": SUDO_USER,
            "ansible_become_password": SUDO_PASSWORD,
        },
    }
    plays = [
        {"name": "depth 2", "hosts": "l2", "gather_facts": False, "tasks": tasks},
        {"name": "remote user and sudo password", "hosts": "l2pw", "gather_facts": False, "tasks": password_tasks},
    ]
    rc, out, err = _play(tmp_path, hosts, plays, pipelining=pipelining)
    assert rc == 0, snapshot.failures(out) or err
    res = _results(out)
    assert (
        res[("command", "l2")]["stdout"]
        == subprocess.run(
            ["docker", "exec", L1, "docker", "exec", L2, "cat", "/etc/hostname"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    assert res[("setup", "l2")]["ansible_facts"]["ansible_distribution"] == "Debian"
    assert res[("copy", "l2")]["changed"] is True
    assert res[("stat", "l2")]["stat"]["checksum"] == hashlib.sha256(payload.read_bytes()).hexdigest()
    assert res[("stat", "l2")]["stat"]["mode"] == "0640"
    assert (fetched / Path(remote).name).read_bytes() == payload.read_bytes()
    assert res[("failing command keeps its rc", "l2")]["rc"] == 3
    assert res[("become nobody", "l2")]["stdout"] == "nobody"
    assert res[("become with su from root", "l2")]["stdout"] == SUDO_USER
    assert res[("stat owner", "l2pw")]["stat"]["pw_name"] == SUDO_USER
    assert res[("become with a sudo password", "l2pw")]["stdout"] == "root"


def test_removed_level_mid_run_is_unreachable_and_the_rest_goes_on(own_chain: list[str], tmp_path: Path) -> None:
    doomed = "nhtest-conn-l2-doomed"
    _in_l1("rm", "-f", doomed, check=False)
    _in_l1("run", "-d", "--name", doomed, BASE_IMAGE, "sleep", "infinity")
    hosts = {
        "stays": {"ansible_nested_chain": own_chain},
        "doomed": {"ansible_nested_chain": [L1, doomed]},
        "ghost": {"ansible_nested_chain": ["nhtest-conn-absent", L2]},
        # l2 has a docker CLI but no daemon: the hop below it cannot be made.
        "no_daemon": {"ansible_nested_chain": [L1, L2, "below-l2"]},
    }
    plays = [
        {
            "name": "before",
            "hosts": "stays:doomed",
            "gather_facts": False,
            "tasks": [_task("ping before", **{"ansible.builtin.ping": {}})],
        },
        {
            "name": "remove a level",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                _task(
                    "remove",
                    **{"ansible.builtin.command": {"argv": ["docker", "exec", L1, "docker", "rm", "-f", doomed]}},
                )
            ],
        },
        {
            "name": "after",
            "hosts": "chain",
            "gather_facts": False,
            "tasks": [
                _task("ping after", **{"ansible.builtin.ping": {}}),
                _task("still going", **{"ansible.builtin.command": "true", "changed_when": False}),
            ],
        },
    ]
    rc, out, _err = _play(tmp_path, hosts, plays)
    assert rc == 4, "ansible-playbook exits 4 when a host was unreachable"
    res = _results(out)
    assert res[("ping before", "doomed")].get("ping") == "pong"
    gone = res[("ping after", "doomed")]
    assert gone.get("unreachable") is True
    assert f"container {doomed} is gone or not running (looked up through local docker > {L1})" in gone["msg"]
    ghost = res[("ping after", "ghost")]
    assert ghost.get("unreachable") is True
    assert "container nhtest-conn-absent is gone or not running (looked up through local docker)" in ghost["msg"]
    no_daemon = res[("ping after", "no_daemon")]
    assert no_daemon.get("unreachable") is True
    assert f"no Docker daemon answered on the way to local docker > {L1} > {L2} > below-l2" in no_daemon["msg"]
    assert res[("still going", "stays")].get("rc") == 0
    assert ("still going", "doomed") not in res, "an unreachable host leaves the play"
    stats = out["stats"]
    assert stats["stays"]["unreachable"] == 0 and stats["stays"]["failures"] == 0
    assert stats["doomed"]["unreachable"] == 1 and stats["ghost"]["unreachable"] == 1
    assert stats["no_daemon"]["unreachable"] == 1


# (host, variables, fragment of the one error)
BAD_HOSTS: list[tuple[str, dict[str, Any], str]] = [
    ("no-chain", {}, "ansible_nested_chain is not set"),
    (
        "bad-name",
        {"ansible_nested_chain": [L1, "bad name"]},
        "ansible_nested_chain[1]='bad name' is not a container name",
    ),
    (
        "bad-first-hop",
        {"ansible_nested_chain": [L1], "ansible_nested_first_hop": "telnet"},
        "ansible_nested_first_hop='telnet' is not supported",
    ),
    (
        "bad-port",
        {
            "ansible_nested_chain": [L1],
            "ansible_nested_first_hop": "ssh",
            "ansible_nested_ssh_host": "127.0.0.1",
            "ansible_nested_ssh_port": "http",
        },
        "ansible_nested_ssh_port='http' is not a port number",
    ),
    (
        "partial-tls",
        {
            "ansible_nested_chain": [L1],
            "ansible_nested_docker_host": "tcp://127.0.0.1:2376",
            "ansible_nested_tls_ca_cert": "/ca.pem",
        },
        "set ansible_nested_tls_client_cert, ansible_nested_tls_client_key as well",
    ),
]


def test_bad_options_fail_with_one_error_naming_the_variable(own_chain: list[str], tmp_path: Path) -> None:
    hosts = {name: variables for name, variables, _msg in BAD_HOSTS}
    hosts["good"] = {"ansible_nested_chain": own_chain}
    plays = [
        {
            "name": "bad options",
            "hosts": "chain",
            "gather_facts": False,
            "tasks": [_task("ping", **{"ansible.builtin.ping": {}})],
        }
    ]
    rc, out, _err = _play(tmp_path, hosts, plays)
    assert rc == 2
    res = _results(out)
    assert res[("ping", "good")].get("ping") == "pong"
    for name, _variables, message in BAD_HOSTS:
        result = res[("ping", name)]
        assert result.get("failed") is True and not result.get("unreachable"), f"{name}: {result}"
        assert message in result["msg"], f"{name}: {result['msg']}"
        assert "\n" not in result["msg"]


def test_ssh_and_tls_first_hops(own_chain: list[str], tmp_path: Path) -> None:
    """l2 runs on l1's daemon: reached by ssh to l1 then docker exec, and by the docker CLI here
    talking to l1's daemon over tcp with TLS; an ssh first hop that does not answer is unreachable."""
    address, certs = ACCESS["address"], ACCESS["certs"]
    control_dir = Path(tempfile.mkdtemp(prefix="nhcp-", dir="/tmp"))  # short: a socket path holds 107 bytes
    ssh = {
        "ansible_nested_first_hop": "ssh",
        "ansible_nested_ssh_host": address,
        "ansible_nested_ssh_user": "root",
        "ansible_nested_ssh_private_key_file": str(certs / "id_ed25519"),
        "ansible_nested_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        "ansible_nested_ssh_control_path_dir": str(control_dir),
    }
    tls = {
        "ansible_nested_docker_host": f"tcp://{address}:2376",
        "ansible_nested_tls_ca_cert": str(certs / "ca.pem"),
        "ansible_nested_tls_client_cert": str(certs / "cert.pem"),
        "ansible_nested_tls_client_key": str(certs / "key.pem"),
    }
    hosts = {
        "via_ssh": {**ssh, "ansible_nested_chain": [L2]},
        "via_tls": {**tls, "ansible_nested_chain": [L2]},
        "ssh_closed_port": {**ssh, "ansible_nested_ssh_port": 1, "ansible_nested_chain": [L2]},
    }
    payload = tmp_path / "payload.txt"
    payload.write_text("through the first hop\n" * 1000)
    tasks = [
        _task("hostname", **{"ansible.builtin.command": "cat /etc/hostname", "changed_when": False}),
        _task(
            "copy",
            **{
                "ansible.builtin.copy": {
                    "src": str(payload),
                    "dest": "/tmp/{{ inventory_hostname }}.txt",
                    "mode": "0644",
                }
            },
        ),
        _task(
            "fetch",
            **{
                "ansible.builtin.fetch": {
                    "src": "/tmp/{{ inventory_hostname }}.txt",
                    "dest": f"{tmp_path}/back/",
                    "flat": True,
                }
            },
        ),
        _task("remove", **{"ansible.builtin.file": {"path": "/tmp/{{ inventory_hostname }}.txt", "state": "absent"}}),
    ]
    try:
        play = [{"name": "first hops", "hosts": "chain", "gather_facts": False, "tasks": tasks}]
        rc, out, _err = _play(tmp_path, hosts, play)
        # The SSH commands shared one master connection (ControlPersist), whose socket is here.
        assert [p.name[:7] for p in control_dir.iterdir()] == ["nested-"]
    finally:
        subprocess.run(
            ["ssh", "-o", f"ControlPath={control_dir}/nested-%C", "-O", "exit", "-l", "root", address],
            capture_output=True,
            check=False,
            timeout=30,
        )
        shutil.rmtree(control_dir, ignore_errors=True)
    assert rc == 4, "one host is unreachable"
    res = _results(out)
    l2_hostname = _in_l1("exec", L2, "cat", "/etc/hostname").stdout.strip()
    for host in ("via_ssh", "via_tls"):
        assert res[("hostname", host)]["stdout"] == l2_hostname, res[("hostname", host)]
        assert (tmp_path / "back" / f"{host}.txt").read_text() == payload.read_text()
        assert out["stats"][host]["failures"] == 0 and out["stats"][host]["unreachable"] == 0
    closed = res[("hostname", "ssh_closed_port")]
    assert closed.get("unreachable") is True
    assert f"the first hop ssh root@{address}:1 did not answer (ssh exit 255: " in closed["msg"], closed["msg"]
