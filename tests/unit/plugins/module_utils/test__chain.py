# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven tests for plugins/module_utils/_chain.py (argv building, failure naming, child variables)."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
from ansible_collections.nested.hosts.plugins.module_utils import _chain
from ansible_collections.nested.hosts.plugins.module_utils._chain import (
    STARTED_MARKER,
    ChainError,
    FirstHop,
    chain_failure,
    child_vars,
    describe,
    docker_args_values,
    first_hop_vars,
    hop_argv,
    hop_failure,
    make_first_hop,
    split_started,
    started_command,
    validate_chain,
)

LOCAL = FirstHop()
TLS = FirstHop(
    docker_host="tcp://10.0.0.5:2376",
    tls_ca_cert="/c/ca.pem",
    tls_client_cert="/c/cert.pem",
    tls_client_key="/c/key.pem",
)
SSH = FirstHop(
    kind="ssh",
    ssh_host="203.0.113.10",
    ssh_port=2222,
    ssh_user="admin",
    ssh_private_key_file="/k/id",
    ssh_common_args=("-o", "StrictHostKeyChecking=no"),
)
SSH_ARGV = [
    "ssh",
    "-o",
    "BatchMode=yes",
    "-T",
    "-p",
    "2222",
    "-l",
    "admin",
    "-i",
    "/k/id",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "--",
    "203.0.113.10",
]
TLS_ARGV = [
    "docker",
    "-H",
    "tcp://10.0.0.5:2376",
    "--tlsverify",
    "--tlscacert=/c/ca.pem",
    "--tlscert=/c/cert.pem",
    "--tlskey=/c/key.pem",
]

# (id, first hop, chain, command, keyword arguments, expected argv)
HOP_CASES: list[tuple[str, FirstHop, list[str], list[str], dict[str, Any], list[str]]] = [
    ("local-depth1", LOCAL, ["n1"], ["true"], {}, ["docker", "exec", "-i", "n1", "true"]),
    (
        "local-depth2",
        LOCAL,
        ["n1", "d1"],
        ["sh", "-c", "echo hi"],
        {},
        ["docker", "exec", "-i", "n1", "docker", "exec", "-i", "d1", "sh", "-c", "echo hi"],
    ),
    (
        "local-depth3-user-on-innermost-only",
        LOCAL,
        ["n1", "d1", "c3"],
        ["id"],
        {"user": "nobody"},
        [
            "docker",
            "exec",
            "-i",
            "n1",
            "docker",
            "exec",
            "-i",
            "d1",
            "docker",
            "exec",
            "-i",
            "-u",
            "nobody",
            "c3",
            "id",
        ],
    ),
    (
        "workdir-and-sorted-env",
        LOCAL,
        ["n1"],
        ["pwd"],
        {"workdir": "/srv", "env": {"B": "2", "A": "1"}},
        ["docker", "exec", "-i", "-w", "/srv", "-e", "A=1", "-e", "B=2", "n1", "pwd"],
    ),
    (
        "not-interactive",
        LOCAL,
        ["n1", "d1"],
        ["true"],
        {"interactive": False},
        ["docker", "exec", "n1", "docker", "exec", "d1", "true"],
    ),
    (
        "tls-flags-on-first-hop-only",
        TLS,
        ["n1", "d1"],
        ["true"],
        {},
        TLS_ARGV + ["exec", "-i", "n1", "docker", "exec", "-i", "d1", "true"],
    ),
    ("empty-chain-docker-at-first-hop", TLS, [], ["docker", "ps", "-q"], {}, TLS_ARGV + ["ps", "-q"]),
    (
        "custom-cli",
        FirstHop(docker_cli="/opt/bin/docker"),
        ["n1"],
        ["true"],
        {},
        ["/opt/bin/docker", "exec", "-i", "n1", "true"],
    ),
    (
        "ssh-depth1-quoted-once",
        SSH,
        ["n1"],
        ["sh", "-c", "echo 'a b'"],
        {},
        SSH_ARGV + ["docker exec -i n1 sh -c 'echo '\"'\"'a b'\"'\"''"],
    ),
    (
        "ssh-depth3",
        SSH,
        ["n1", "d1", "c3"],
        ["true"],
        {"user": "root"},
        SSH_ARGV + ["docker exec -i n1 docker exec -i d1 docker exec -i -u root c3 true"],
    ),
]


@pytest.mark.parametrize(
    ("first_hop", "chain", "command", "kwargs", "expected"), [c[1:] for c in HOP_CASES], ids=[c[0] for c in HOP_CASES]
)
def test_hop_argv(first_hop: FirstHop, chain: list[str], command: list[str], kwargs: dict, expected: list[str]) -> None:
    assert hop_argv(first_hop, chain, command, **kwargs) == expected


@pytest.mark.parametrize("script", ["echo 'a b' \"$HOME\"", "printf '%s\\n' $((1+2)); exit 3", 'cat > "$1"'])
def test_ssh_remote_word_splits_back_to_the_local_argv(script: str) -> None:
    local = hop_argv(LOCAL, ["n1", "d1"], ["sh", "-c", script, "sh", "/tmp/a file"])
    remote = hop_argv(SSH, ["n1", "d1"], ["sh", "-c", script, "sh", "/tmp/a file"])
    assert remote[: len(SSH_ARGV)] == SSH_ARGV
    assert shlex.split(remote[-1]) == local


# (id, option values, expected FirstHop or an error message fragment)
FIRST_HOP_CASES: list[tuple[str, dict[str, Any], FirstHop | str]] = [
    ("defaults", {}, FirstHop()),
    ("none-values-are-defaults", {"first_hop": None, "docker_cli": None, "ssh_port": ""}, FirstHop()),
    (
        "tls",
        {
            "docker_host": TLS.docker_host,
            "tls_ca_cert": "/c/ca.pem",
            "tls_client_cert": "/c/cert.pem",
            "tls_client_key": "/c/key.pem",
        },
        TLS,
    ),
    (
        "ssh-port-string-and-common-args-string",
        {"first_hop": "ssh", "ssh_host": "h", "ssh_port": "2222", "ssh_common_args": "-o A=1 -J 'b c'"},
        FirstHop(kind="ssh", ssh_host="h", ssh_port=2222, ssh_common_args=("-o", "A=1", "-J", "b c")),
    ),
    ("bad-first-hop", {"first_hop": "telnet"}, "ansible_nested_first_hop='telnet' is not supported"),
    ("ssh-without-host", {"first_hop": "ssh"}, "ansible_nested_first_hop=ssh needs ansible_nested_ssh_host"),
    (
        "bad-endpoint",
        {"docker_host": "10.0.0.5:2376"},
        "ansible_nested_docker_host='10.0.0.5:2376' is not a Docker endpoint",
    ),
    (
        "partial-tls",
        {"docker_host": "tcp://h:2376", "tls_ca_cert": "/ca"},
        "set ansible_nested_tls_client_cert, ansible_nested_tls_client_key",
    ),
    (
        "tls-on-unix-socket",
        {"docker_host": "unix:///s", "tls_ca_cert": "a", "tls_client_cert": "b", "tls_client_key": "c"},
        "is not a tcp:// endpoint",
    ),
    ("port-not-a-number", {"ssh_port": "ssh"}, "ansible_nested_ssh_port='ssh' is not a port number"),
    ("port-out-of-range", {"ssh_port": 70000}, "ansible_nested_ssh_port=70000 is out of range"),
    ("port-zero", {"ssh_port": 0}, "ansible_nested_ssh_port=0 is out of range"),
]


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in FIRST_HOP_CASES], ids=[c[0] for c in FIRST_HOP_CASES])
def test_make_first_hop(values: dict[str, Any], expected: FirstHop | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ChainError, match=expected.replace("(", r"\(").replace(".", r"\.")) as err:
            make_first_hop(values)
        assert str(err.value).count("\n") == 0
    else:
        assert make_first_hop(values) == expected


# (id, chain value, expected list or error fragment)
CHAIN_CASES: list[tuple[str, Any, list[str] | str]] = [
    ("list", ["n1", "d1"], ["n1", "d1"]),
    ("string-is-one-hop", "n1", ["n1"]),
    ("leading-slash-dropped", ["/n1"], ["n1"]),
    ("id", ["0123456789ab"], ["0123456789ab"]),
    ("empty", [], "ansible_nested_chain must be a non-empty list"),
    ("none", None, "ansible_nested_chain must be a non-empty list"),
    ("mapping", {"a": 1}, "ansible_nested_chain must be a non-empty list"),
    ("space-in-name", ["n1", "d 1"], "ansible_nested_chain[1]='d 1' is not a container name"),
    ("shell-metachar", ["n1;rm"], "ansible_nested_chain[0]='n1;rm' is not a container name"),
    ("not-a-string", ["n1", 3], "ansible_nested_chain[1]=3 is not a container name"),
]


@pytest.mark.parametrize(("chain", "expected"), [c[1:] for c in CHAIN_CASES], ids=[c[0] for c in CHAIN_CASES])
def test_validate_chain(chain: Any, expected: list[str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ChainError) as err:
            validate_chain(chain)
        assert expected in str(err.value)
    else:
        assert validate_chain(chain) == expected


# (id, first hop, chain, rc, stderr, expected message fragment or None for "not a chain failure")
FAILURE_CASES: list[tuple[str, FirstHop, list[str], int, str, str | None]] = [
    (
        "innermost-gone",
        LOCAL,
        ["n1", "d1", "c3"],
        1,
        "Error: No such container: c3\n",
        "container c3 is gone or not running (looked up through local docker > n1 > d1)",
    ),
    (
        "outermost-gone",
        LOCAL,
        ["n1", "d1"],
        1,
        "Error: No such container: n1\n",
        "container n1 is gone or not running (looked up through local docker)",
    ),
    (
        "stopped",
        LOCAL,
        ["n1", "d1"],
        1,
        "Error response from daemon: Container 4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b is not running\n",
        "is gone or not running",
    ),
    (
        "paused",
        LOCAL,
        ["n1", "d1"],
        1,
        "Error response from daemon: Container d1 is paused, unpause the container before exec\n",
        "container d1 is gone",
    ),
    (
        "ssh-255",
        SSH,
        ["n1"],
        255,
        "ssh: connect to host 203.0.113.10 port 2222: Connection refused\n",
        "did not answer (ssh exit 255: ssh: connect to host",
    ),
    ("ssh-255-no-message", SSH, ["n1"], 255, "", "ssh exit 255: no message"),
    (
        "no-daemon",
        LOCAL,
        ["n1", "d1"],
        1,
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
        "no Docker daemon answered on the way to local docker > n1 > d1",
    ),
    (
        "no-docker-cli-in-level",
        LOCAL,
        ["n1", "d1"],
        126,
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "docker": executable file not found in $PATH: unknown\n',
        "has no docker CLI to run the next hop",
    ),
    ("command-failed-on-its-own", LOCAL, ["n1"], 1, "grep: /etc/x: No such file or directory\n", None),
    ("local-255-is-the-command", LOCAL, ["n1"], 255, "", None),
]


@pytest.mark.parametrize(
    ("first_hop", "chain", "rc", "stderr", "expected"),
    [c[1:] for c in FAILURE_CASES],
    ids=[c[0] for c in FAILURE_CASES],
)
def test_hop_failure(first_hop: FirstHop, chain: list[str], rc: int, stderr: str, expected: str | None) -> None:
    message = hop_failure(first_hop, chain, rc, stderr)
    if expected is None:
        assert message is None
    else:
        assert message is not None and expected in message


def test_chain_failure_falls_back_to_the_chain_and_last_line() -> None:
    message = chain_failure(LOCAL, ["n1", "d1"], 126, "warning\nOCI runtime exec failed: /bin/sh: no such file\n")
    assert message == (
        "the command did not start in the innermost container of local docker > n1 > d1 "
        "(rc 126: OCI runtime exec failed: /bin/sh: no such file)"
    )
    assert "container d1 is gone" in chain_failure(LOCAL, ["n1", "d1"], 1, "Error: No such container: d1")


# (id, stderr, expected started, expected stderr without the marker)
MARKER_CASES: list[tuple[str, bytes, bool, bytes]] = [
    ("marker-only", STARTED_MARKER, True, b""),
    ("marker-then-command-stderr", STARTED_MARKER + b"boom\n", True, b"boom\n"),
    ("hop-warning-before-marker", b"WARNING: x\n" + STARTED_MARKER + b"boom\n", True, b"WARNING: x\nboom\n"),
    ("only-first-marker-removed", STARTED_MARKER + STARTED_MARKER, True, STARTED_MARKER),
    ("no-marker", b"Error: No such container: d1\n", False, b"Error: No such container: d1\n"),
    ("empty", b"", False, b""),
]


@pytest.mark.parametrize(("stderr", "started", "rest"), [c[1:] for c in MARKER_CASES], ids=[c[0] for c in MARKER_CASES])
def test_split_started(stderr: bytes, started: bool, rest: bytes) -> None:
    assert split_started(stderr) == (started, rest)


def test_started_command_prints_the_marker_first() -> None:
    import subprocess

    argv = started_command("/bin/sh", 'printf "%s|" "$1" "$2"; echo err >&2; exit 4', ["a b", "-c"])
    assert argv[:2] == ["/bin/sh", "-c"] and argv[3:] == ["/bin/sh", "a b", "-c"]
    proc = subprocess.run(argv, capture_output=True, check=False)
    assert proc.returncode == 4
    assert proc.stdout == b"a b|-c|"
    assert proc.stderr == STARTED_MARKER + b"err\n"
    assert started_command("sh", "true") == ["sh", "-c", _chain._MARKER_PRINTF + "true"]


def test_describe() -> None:
    assert describe(LOCAL, ["n1", "d1"]) == "local docker > n1 > d1"
    assert describe(TLS, ["n1"]) == "local docker (tcp://10.0.0.5:2376) > n1"
    assert describe(SSH, []) == "ssh admin@203.0.113.10:2222"


@pytest.mark.parametrize(
    "first_hop",
    [LOCAL, TLS, SSH, FirstHop(kind="ssh", ssh_host="h"), FirstHop(docker_cli="/opt/docker")],
    ids=["local", "tls", "ssh", "ssh-minimal", "cli"],
)
def test_first_hop_vars_round_trip(first_hop: FirstHop) -> None:
    variables = first_hop_vars(first_hop)
    assert all(key.startswith("ansible_nested_") for key in variables)
    values = {key: variables.get("ansible_nested_" + key) for key in _chain.FIRST_HOP_KEYS}
    assert make_first_hop(values) == first_hop


def test_first_hop_vars_leave_defaults_out() -> None:
    assert first_hop_vars(LOCAL) == {"ansible_nested_first_hop": "local"}


# (id, parent variables, container name, expected chain, expected first hop, or an error fragment)
CHILD_CASES: list[tuple[str, dict[str, Any], str, list[str] | str, FirstHop | None]] = [
    ("local", {"ansible_connection": "local", "inventory_hostname": "localhost"}, "n1", ["n1"], LOCAL),
    ("builtin-local", {"ansible_connection": "ansible.builtin.local"}, "n1", ["n1"], LOCAL),
    (
        "ssh-with-everything",
        {
            "ansible_connection": "ssh",
            "inventory_hostname": "web",
            "ansible_host": "203.0.113.10",
            "ansible_port": 2222,
            "ansible_user": "admin",
            "ansible_ssh_private_key_file": "/k/id",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no",
        },
        "n1",
        ["n1"],
        SSH,
    ),
    (
        "ssh-implicit-connection-inventory-name",
        {"inventory_hostname": "web.example"},
        "n1",
        ["n1"],
        FirstHop(kind="ssh", ssh_host="web.example"),
    ),
    (
        "ssh-extra-args-and-ssh-port-spelling",
        {
            "ansible_connection": "ansible.builtin.ssh",
            "ansible_host": "h",
            "ansible_ssh_port": "22",
            "ansible_ssh_extra_args": "-4",
        },
        "n1",
        ["n1"],
        FirstHop(kind="ssh", ssh_host="h", ssh_port=22, ssh_common_args=("-4",)),
    ),
    (
        "docker-by-inventory-name",
        {"ansible_connection": "community.docker.docker", "inventory_hostname": "n1"},
        "d1",
        ["n1", "d1"],
        LOCAL,
    ),
    (
        "docker-container-var-wins",
        {
            "ansible_connection": "docker",
            "inventory_hostname": "node",
            "ansible_host": "x",
            "ansible_docker_host": "n1",
        },
        "d1",
        ["n1", "d1"],
        LOCAL,
    ),
    (
        "docker-tls-extra-args",
        {
            "ansible_connection": "community.docker.docker",
            "inventory_hostname": "n1",
            "ansible_docker_extra_args": "-H tcp://10.0.0.5:2376 --tlsverify --tlscacert /c/ca.pem --tlscert=/c/cert.pem --tlskey /c/key.pem",
        },
        "d1",
        ["n1", "d1"],
        TLS,
    ),
    (
        "nested-parent-extends-chain",
        {
            "ansible_connection": "nested.hosts.nested",
            "ansible_nested_chain": ["n1", "d1"],
            **_chain.first_hop_vars(SSH),
        },
        "c3",
        ["n1", "d1", "c3"],
        SSH,
    ),
    ("nested-short-name", {"ansible_connection": "nested", "ansible_nested_chain": ["n1"]}, "d1", ["n1", "d1"], LOCAL),
    (
        "unsupported-connection",
        {"ansible_connection": "winrm"},
        "n1",
        "ansible_connection='winrm' cannot be chained",
        None,
    ),
    ("bad-child-name", {"ansible_connection": "local"}, "bad name", "name[0]='bad name' is not a container name", None),
    (
        "nested-parent-without-chain",
        {"ansible_connection": "nested.hosts.nested"},
        "d1",
        "ansible_nested_chain must be a non-empty list",
        None,
    ),
    (
        "docker-unknown-extra-arg",
        {"ansible_connection": "docker", "inventory_hostname": "n1", "ansible_docker_extra_args": "--context prod"},
        "d1",
        "'--context' cannot be carried over",
        None,
    ),
    (
        "docker-partial-tls",
        {
            "ansible_connection": "docker",
            "inventory_hostname": "n1",
            "ansible_docker_extra_args": "-H tcp://h:2376 --tlscacert /ca",
        },
        "d1",
        "TLS needs all three",
        None,
    ),
]


@pytest.mark.parametrize(
    ("parent", "name", "chain", "first_hop"), [c[1:] for c in CHILD_CASES], ids=[c[0] for c in CHILD_CASES]
)
def test_child_vars(parent: dict[str, Any], name: str, chain: list[str] | str, first_hop: FirstHop | None) -> None:
    if isinstance(chain, str):
        with pytest.raises(ChainError) as err:
            child_vars(parent, name)
        assert chain in str(err.value)
        return
    out = child_vars(parent, name)
    assert out["ansible_connection"] == "nested.hosts.nested"
    assert out["ansible_host"] == name
    assert out["ansible_nested_chain"] == chain
    assert out["ansible_python_interpreter"] == "/usr/bin/python3"
    values = {key: out.get("ansible_nested_" + key) for key in _chain.FIRST_HOP_KEYS}
    assert make_first_hop(values) == first_hop
    # A child's variables are themselves a parent one level further down.
    grandchild = child_vars(out, "g1")
    assert grandchild["ansible_nested_chain"] == [*chain, "g1"]


# (id, extra args, expected values or error fragment)
DOCKER_ARGS_CASES: list[tuple[str, Any, dict[str, str] | str]] = [
    ("none", None, {}),
    ("empty", "", {}),
    ("host-short", "-H unix:///run/d.sock", {"docker_host": "unix:///run/d.sock"}),
    ("host-long-equals", "--host=tcp://h:2375", {"docker_host": "tcp://h:2375"}),
    ("list-form", ["--host", "tcp://h:2375", "--tls"], {"docker_host": "tcp://h:2375"}),
    ("missing-value", "-H", "-H needs a value"),
    ("unknown-flag", "--debug", "'--debug' cannot be carried over"),
]


@pytest.mark.parametrize(
    ("extra", "expected"), [c[1:] for c in DOCKER_ARGS_CASES], ids=[c[0] for c in DOCKER_ARGS_CASES]
)
def test_docker_args_values(extra: Any, expected: dict[str, str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ChainError) as err:
            docker_args_values(extra)
        assert expected in str(err.value)
    else:
        assert docker_args_values(extra) == expected
