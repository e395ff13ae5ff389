# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for the nested.hosts.nested connection plugin.

Two kinds of fake: a recorded ``subprocess.Popen`` (argv, stdin and results, no process) for
argument handling and the mapping of results, and a fake ``docker`` CLI on ``PATH`` that peels
one ``docker exec`` layer per process and runs the rest, so streaming, pipelining and the become
prompt go through a real chain of pipes without containers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import become_loader
from ansible_collections.nested.hosts.plugins.connection import nested as plugin
from ansible_collections.nested.hosts.plugins.module_utils import _chain

MARK = _chain._MARKER_PRINTF
STARTED = _chain.STARTED_MARKER


def _definitions() -> dict[str, Any]:
    """The option definitions as the plugin loader registers them (parsed from DOCUMENTATION)."""
    return yaml.safe_load(plugin.DOCUMENTATION)["options"]


def make(variables: dict[str, Any]) -> Any:
    """The plugin as the loader would give it: options registered under its FQCN, then set_options."""
    if not C.config.has_configuration_definition("connection", _chain.CONNECTION_NAME):
        C.config.initialize_plugin_configuration_definitions("connection", _chain.CONNECTION_NAME, _definitions())
    conn = plugin.Connection(PlayContext())
    conn._load_name = _chain.CONNECTION_NAME
    conn.set_options(var_options=variables)
    return conn


class Recorder:
    """Stands in for subprocess.Popen: records each call and answers with the next scripted result."""

    def __init__(self, results: list[tuple[int, bytes, bytes]]) -> None:
        self.results = list(results)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, argv: list[bytes], stdin: Any = None, stdout: Any = None, stderr: Any = None) -> Any:
        call: dict[str, Any] = {"argv": [a.decode() for a in argv], "stdin": stdin, "stdout": stdout}
        self.calls.append(call)
        rc, out, err = self.results.pop(0)
        proc = types.SimpleNamespace(returncode=None)

        def communicate(input: bytes | None = None) -> tuple[bytes | None, bytes]:  # noqa: A002 (Popen's name)
            call["input"] = input
            if hasattr(stdin, "read"):
                call["stdin_data"] = stdin.read()
            data = out
            if hasattr(stdout, "write"):
                stdout.write(out)
                data = None
            proc.returncode = rc
            return data, err

        proc.communicate = communicate
        return proc


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(conn: Any, results: list[tuple[int, bytes, bytes]]) -> Recorder:
        rec = Recorder(results)
        fake = types.SimpleNamespace(Popen=rec, PIPE=subprocess.PIPE, DEVNULL=subprocess.DEVNULL)
        monkeypatch.setattr(plugin, "subprocess", fake)
        return rec

    return install


# ---------------------------------------------------------------- options

CHAIN = {"ansible_nested_chain": ["n1", "d1"]}
TLS = {
    "ansible_nested_docker_host": "tcp://10.0.0.5:2376",
    "ansible_nested_tls_ca_cert": "/c/ca.pem",
    "ansible_nested_tls_client_cert": "/c/cert.pem",
    "ansible_nested_tls_client_key": "/c/key.pem",
}

# (id, host variables, fragment of the one error)
BAD_OPTION_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("chain-missing", {}, "ansible_nested_chain is not set"),
    ("chain-empty", {"ansible_nested_chain": []}, "ansible_nested_chain must be a non-empty list"),
    (
        "chain-bad-name",
        {"ansible_nested_chain": ["n1", "d 1"]},
        "ansible_nested_chain[1]='d 1' is not a container name",
    ),
    (
        "first-hop-unknown",
        {**CHAIN, "ansible_nested_first_hop": "telnet"},
        "ansible_nested_first_hop='telnet' is not supported",
    ),
    ("ssh-without-host", {**CHAIN, "ansible_nested_first_hop": "ssh"}, "needs ansible_nested_ssh_host"),
    (
        "ssh-port-word",
        {**CHAIN, "ansible_nested_ssh_port": "twentytwo"},
        "ansible_nested_ssh_port='twentytwo' is not a port number",
    ),
    ("ssh-port-range", {**CHAIN, "ansible_nested_ssh_port": 65536}, "ansible_nested_ssh_port=65536 is out of range"),
    (
        "partial-tls",
        {**CHAIN, "ansible_nested_docker_host": "tcp://h:2376", "ansible_nested_tls_client_key": "/k"},
        "set ansible_nested_tls_ca_cert, ansible_nested_tls_client_cert",
    ),
    (
        "tls-without-tcp",
        {**CHAIN, **TLS, "ansible_nested_docker_host": "unix:///run/docker.sock"},
        "ansible_nested_docker_host is not a tcp:// endpoint",
    ),
    (
        "endpoint-without-scheme",
        {**CHAIN, "ansible_nested_docker_host": "10.0.0.5:2376"},
        "ansible_nested_docker_host='10.0.0.5:2376' is not a Docker endpoint",
    ),
    ("timeout-word", {**CHAIN, "ansible_nested_timeout": "soon"}, "ansible_nested_timeout"),
]


@pytest.mark.parametrize(
    ("variables", "message"), [c[1:] for c in BAD_OPTION_CASES], ids=[c[0] for c in BAD_OPTION_CASES]
)
def test_bad_options_give_one_error_naming_the_variable(variables: dict[str, Any], message: str, recorder: Any) -> None:
    with pytest.raises(AnsibleError) as err:
        conn = make(variables)
        rec = recorder(conn, [])
        conn.exec_command("true")
    assert not isinstance(err.value, AnsibleConnectionFailure), "bad options are a task failure, not unreachable"
    assert message in str(err.value)
    assert "\n" not in str(err.value.message)
    if "rec" in locals():
        assert rec.calls == [], "nothing may run before the options are valid"


SSH_PREFIX = ["ssh", "-o", "BatchMode=yes", "-T"]
TLS_PREFIX = [
    "docker",
    "-H",
    "tcp://10.0.0.5:2376",
    "--tlsverify",
    "--tlscacert=/c/ca.pem",
    "--tlscert=/c/cert.pem",
    "--tlskey=/c/key.pem",
]

# (id, host variables, expected argv of exec_command("echo hi"))
ARGV_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "local-depth1",
        {"ansible_nested_chain": ["n1"]},
        ["docker", "exec", "-i", "n1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "chain-as-one-string",
        {"ansible_nested_chain": "n1"},
        ["docker", "exec", "-i", "n1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "local-depth2",
        CHAIN,
        ["docker", "exec", "-i", "n1", "docker", "exec", "-i", "d1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "local-depth3-user",
        {"ansible_nested_chain": ["n1", "d1", "c3"], "ansible_user": "ignored", "ansible_nested_user": "app"},
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
            "app",
            "c3",
            "/bin/sh",
            "-c",
            MARK + "echo hi",
        ],
    ),
    (
        "ansible-user",
        {"ansible_nested_chain": ["n1"], "ansible_user": "1000:1000"},
        ["docker", "exec", "-i", "-u", "1000:1000", "n1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "tls",
        {**TLS, "ansible_nested_chain": ["n1"]},
        TLS_PREFIX + ["exec", "-i", "n1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "docker-cli-and-socket",
        {
            "ansible_nested_chain": ["n1"],
            "ansible_nested_docker_cli": "/opt/docker",
            "ansible_nested_docker_host": "unix:///run/d.sock",
        },
        ["/opt/docker", "-H", "unix:///run/d.sock", "exec", "-i", "n1", "/bin/sh", "-c", MARK + "echo hi"],
    ),
    (
        "ssh-depth2",
        {
            **CHAIN,
            "ansible_nested_first_hop": "ssh",
            "ansible_nested_ssh_host": "h",
            "ansible_nested_ssh_port": "2222",
            "ansible_nested_ssh_user": "admin",
            "ansible_nested_ssh_private_key_file": "/k/id",
            "ansible_nested_ssh_common_args": "-o StrictHostKeyChecking=no",
            "ansible_nested_timeout": 7,
            "ansible_nested_ssh_control_persist": "no",
        },
        SSH_PREFIX
        + [
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
            "-o",
            "ConnectTimeout=7",
            "--",
            "h",
        ]
        + ["docker exec -i n1 docker exec -i d1 /bin/sh -c " + _chain.shlex.quote(MARK + "echo hi")],
    ),
]


@pytest.mark.parametrize(("variables", "expected"), [c[1:] for c in ARGV_CASES], ids=[c[0] for c in ARGV_CASES])
def test_exec_argv(variables: dict[str, Any], expected: list[str], recorder: Any) -> None:
    conn = make(variables)
    rec = recorder(conn, [(0, b"hi\n", STARTED)])
    assert conn.exec_command("echo hi") == (0, b"hi\n", b"")
    assert rec.calls[0]["argv"] == expected


@pytest.mark.parametrize(
    ("persist", "expected"), [("60s", "60s"), ("10m", "10m"), ("no", None), ("0", None), ("false", None)]
)
def test_ssh_multiplexing_options(persist: str, expected: str | None, recorder: Any) -> None:
    short = Path(tempfile.mkdtemp(prefix="nhcp-", dir="/tmp"))  # a socket path holds 107 bytes
    cp_dir = short / "cp"
    conn = make(
        {
            "ansible_nested_chain": ["n1"],
            "ansible_nested_first_hop": "ssh",
            "ansible_nested_ssh_host": "h",
            "ansible_nested_ssh_common_args": "-o ControlPersist=5s",
            "ansible_nested_ssh_control_persist": persist,
            "ansible_nested_ssh_control_path_dir": str(cp_dir),
        }
    )
    rec = recorder(conn, [(0, b"", STARTED)])
    conn.exec_command("true")
    argv = rec.calls[0]["argv"]
    options = argv[: argv.index("--")]
    # The user's own options come first, so ssh (first value wins) keeps them.
    assert options.index("ControlPersist=5s") < options.index("ConnectTimeout=10")
    if expected is None:
        assert not any(o.startswith(("ControlMaster", "ControlPath")) for o in options)
        assert not cp_dir.exists()
    else:
        assert options[options.index("ConnectTimeout=10") + 1 :] == [
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPersist={expected}",
            "-o",
            f"ControlPath={cp_dir}/nested-%C",
        ]
        assert cp_dir.stat().st_mode & 0o777 == 0o700
    shutil.rmtree(short)


def test_ssh_control_dir_too_long_turns_multiplexing_off(
    tmp_path: Path, recorder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(plugin.display, "warning", warnings.append)
    long_dir = tmp_path / ("d" * 60)
    conn = make(
        {
            "ansible_nested_chain": ["n1"],
            "ansible_nested_first_hop": "ssh",
            "ansible_nested_ssh_host": "h",
            "ansible_nested_ssh_control_path_dir": str(long_dir),
        }
    )
    rec = recorder(conn, [(0, b"", STARTED)])
    conn.exec_command("true")
    assert not any(a.startswith(("ControlMaster", "ControlPath")) for a in rec.calls[0]["argv"])
    assert len(warnings) == 1 and "too long for an SSH control socket" in warnings[0]
    assert not long_dir.exists()


# ---------------------------------------------------------------- exec_command results

# (id, scripted rc/stdout/stderr, expected (rc, stdout, stderr) or the fragment of an unreachable message)
EXEC_CASES: list[tuple[str, tuple[int, bytes, bytes], tuple[int, bytes, bytes] | str]] = [
    ("ok", (0, b"out\n", STARTED), (0, b"out\n", b"")),
    ("command-fails-rc-kept", (3, b"out\n", STARTED + b"err\n"), (3, b"out\n", b"err\n")),
    (
        "command-prints-no-such-container",
        (1, b"", STARTED + b"Error: No such container: d1\n"),
        (1, b"", b"Error: No such container: d1\n"),
    ),
    ("command-exits-255", (255, b"", STARTED), (255, b"", b"")),
    ("hop-warning-kept", (0, b"", b"WARNING: level warns\n" + STARTED), (0, b"", b"WARNING: level warns\n")),
    (
        "innermost-gone",
        (1, b"", b"Error: No such container: d1\n"),
        "container d1 is gone or not running (looked up through local docker > n1)",
    ),
    (
        "outermost-gone",
        (1, b"", b"Error: No such container: n1\n"),
        "container n1 is gone or not running (looked up through local docker)",
    ),
    (
        "not-running",
        (1, b"", b"Error response from daemon: Container n1 is not running\n"),
        "container n1 is gone or not running",
    ),
    (
        "no-daemon-in-level",
        (
            1,
            b"",
            b"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n",
        ),
        "no Docker daemon answered on the way to local docker > n1 > d1",
    ),
    (
        "no-shell-message-on-stdout",
        (
            126,
            b'OCI runtime exec failed: exec failed: exec: "/bin/sh": stat /bin/sh: no such file or directory: unknown\n',
            b"",
        ),
        'did not start in the innermost container of local docker > n1 > d1 (rc 126: OCI runtime exec failed: exec failed: exec: "/bin/sh"',
    ),
    (
        # Recorded from docker 20.10 here: docker exec prints the runtime's error on stdout.
        "no-docker-cli-in-a-level",
        (
            126,
            b'OCI runtime exec failed: exec failed: unable to start container process: exec: "docker": executable file not found in $PATH: unknown\n',
            b"",
        ),
        "a level on the way to local docker > n1 > d1 has no docker CLI to run the next hop",
    ),
]


@pytest.mark.parametrize(("script", "expected"), [c[1:] for c in EXEC_CASES], ids=[c[0] for c in EXEC_CASES])
def test_exec_command_results(script: tuple[int, bytes, bytes], expected: Any, recorder: Any) -> None:
    conn = make(CHAIN)
    recorder(conn, [script])
    if isinstance(expected, str):
        with pytest.raises(AnsibleConnectionFailure) as err:
            conn.exec_command("true")
        assert expected in str(err.value)
    else:
        assert conn.exec_command("true") == expected


def test_exec_command_passes_in_data_for_pipelining(recorder: Any) -> None:
    conn = make(CHAIN)
    rec = recorder(conn, [(0, b"{}", STARTED)])
    conn.exec_command("/usr/bin/python3", in_data=b"print('module')")
    assert rec.calls[0]["input"] == b"print('module')"
    assert rec.calls[0]["stdin"] == subprocess.PIPE
    assert conn.has_pipelining is True


@pytest.mark.parametrize(
    ("rc", "stderr", "expected"),
    [
        (
            255,
            b"ssh: connect to host h port 22: Connection refused\n",
            "the first hop ssh h did not answer (ssh exit 255: ssh: connect to host h port 22",
        ),
        (255, b"", "ssh exit 255: no message"),
    ],
    ids=["refused", "silent"],
)
def test_ssh_255_before_the_marker_is_unreachable(rc: int, stderr: bytes, expected: str, recorder: Any) -> None:
    conn = make({**CHAIN, "ansible_nested_first_hop": "ssh", "ansible_nested_ssh_host": "h"})
    recorder(conn, [(rc, b"", stderr)])
    with pytest.raises(AnsibleConnectionFailure) as err:
        conn.exec_command("true")
    assert expected in str(err.value)


def test_missing_first_hop_cli_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = make({**CHAIN, "ansible_nested_docker_cli": "/nonexistent/docker"})
    with pytest.raises(AnsibleConnectionFailure) as err:
        conn.exec_command("true")
    assert "cannot run the first hop of local docker > n1 > d1: /nonexistent/docker" in str(err.value)


# ---------------------------------------------------------------- files (recorded)


def test_put_file_streams_the_file_as_stdin(tmp_path: Path, recorder: Any) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(b"payload\x00" * 10)
    conn = make({**CHAIN, "ansible_nested_user": "app"})
    rec = recorder(conn, [(0, b"", STARTED)])
    conn.put_file(str(source), "/tmp/a b")
    call = rec.calls[0]
    assert call["argv"] == [
        "docker",
        "exec",
        "-i",
        "n1",
        "docker",
        "exec",
        "-i",
        "-u",
        "app",
        "d1",
        "/bin/sh",
        "-c",
        MARK + 'cat > "$1"',
        "/bin/sh",
        "/tmp/a b",
    ]
    assert hasattr(call["stdin"], "fileno"), "stdin must be the open file, not bytes read into memory"
    assert call["input"] is None
    assert call["stdin_data"] == b"payload\x00" * 10


def test_put_file_missing_source(tmp_path: Path, recorder: Any) -> None:
    conn = make(CHAIN)
    rec = recorder(conn, [])
    with pytest.raises(AnsibleFileNotFound, match="does not exist or is not a file"):
        conn.put_file(str(tmp_path / "absent"), "/tmp/x")
    assert rec.calls == []


@pytest.mark.parametrize(
    ("script", "error", "message"),
    [
        (
            (1, b"", STARTED + b"/bin/sh: 1: cannot create /ro/x: Read-only file system\n"),
            AnsibleError,
            "failed to write /ro/x in local docker > n1 > d1 (rc 1): /bin/sh: 1: cannot create /ro/x",
        ),
        ((1, b"", b"Error: No such container: d1\n"), AnsibleConnectionFailure, "container d1 is gone"),
    ],
    ids=["write-fails", "hop-gone"],
)
def test_put_file_failures(tmp_path: Path, recorder: Any, script: tuple, error: type, message: str) -> None:
    source = tmp_path / "in"
    source.write_text("x")
    conn = make(CHAIN)
    recorder(conn, [script])
    with pytest.raises(error) as err:
        conn.put_file(str(source), "/ro/x")
    assert message in str(err.value)
    if error is AnsibleError:
        assert not isinstance(err.value, AnsibleConnectionFailure)


def test_fetch_file_streams_stdout_into_the_file(tmp_path: Path, recorder: Any) -> None:
    target = tmp_path / "out"
    conn = make(CHAIN)
    rec = recorder(conn, [(0, b"remote bytes\n", STARTED)])
    conn.fetch_file("/etc/x y", str(target))
    call = rec.calls[0]
    assert call["argv"][-4:] == ["-c", MARK + 'cat -- "$1"', "/bin/sh", "/etc/x y"]
    assert hasattr(call["stdout"], "fileno"), "stdout must go straight to a file, not into memory"
    assert target.read_bytes() == b"remote bytes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize(
    ("script", "error", "message"),
    [
        (
            (1, b"", STARTED + b"cat: /etc/x: No such file or directory\n"),
            AnsibleError,
            "failed to read /etc/x in local docker > n1 > d1 (rc 1): cat: /etc/x",
        ),
        ((1, b"", b"Error: No such container: n1\n"), AnsibleConnectionFailure, "container n1 is gone"),
        (
            (126, b'OCI runtime exec failed: exec failed: exec: "docker": executable file not found in $PATH\n', b""),
            AnsibleConnectionFailure,
            "has no docker CLI to run the next hop",
        ),
    ],
    ids=["read-fails", "hop-gone", "hop-error-on-stdout-read-back-from-the-file"],
)
def test_fetch_file_failure_keeps_the_old_file(
    tmp_path: Path, recorder: Any, script: tuple, error: type, message: str
) -> None:
    target = tmp_path / "out"
    target.write_bytes(b"old")
    conn = make(CHAIN)
    recorder(conn, [script])
    with pytest.raises(error) as err:
        conn.fetch_file("/etc/x", str(target))
    assert message in str(err.value)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no temporary file left behind"


def test_options_are_read_again_after_set_options(recorder: Any) -> None:
    conn = make({"ansible_nested_chain": ["n1"]})
    rec = recorder(conn, [(0, b"", STARTED), (0, b"", STARTED)])
    conn.exec_command("true")
    conn.set_options(var_options={"ansible_nested_chain": ["n2", "d2"]})
    conn.exec_command("true")
    assert [c["argv"][3] for c in rec.calls] == ["n1", "n2"]


# ---------------------------------------------------------------- a fake docker CLI: real pipes, no containers

FAKE_DOCKER = """\
#!{python}
# Peels one `docker [-H X] [--tls...] exec [-i] [-u U] NAME` layer and runs the rest; names in
# $FAKE_GONE are "gone". Logs every argv to $FAKE_LOG.
import os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
while args and args[0] != "exec":
    args = args[2:] if args[0] == "-H" else args[1:]
args = args[1:]
user = None
while args[0].startswith("-"):
    if args[0] in ("-u", "-w", "-e"):
        user = args[1] if args[0] == "-u" else user
        args = args[2:]
    else:
        args = args[1:]
name, command = args[0], args[1:]
if name in os.environ.get("FAKE_GONE", "").split(","):
    sys.stderr.write("Error: No such container: %s\\n" % name)
    sys.exit(1)
if user:
    os.environ["FAKE_USER"] = user
os.execvp(command[0], command)
"""

# Like `sudo -S -p PROMPT -u USER cmd`: prompts on stderr, reads the password from stdin.
FAKE_SUDO = """\
#!/bin/sh
prompt=""
while [ $# -gt 0 ]; do
  case $1 in
    -p) prompt=$2; shift 2 ;;
    -u) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
printf '%s' "$prompt" >&2
read -r password
[ "$password" = "s3cret" ] || { echo "Sorry, try again." >&2; exit 1; }
exec "$@"
"""


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("docker", FAKE_DOCKER.format(python=sys.executable)), ("sudo", FAKE_SUDO)):
        path = bindir / name
        path.write_text(text)
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "docker.log"))
    return tmp_path


DEPTH3 = {"ansible_nested_chain": ["n1", "d1", "c3"]}


def test_fake_chain_exec_pipelining_and_user(fake_docker: Path) -> None:
    conn = make({**DEPTH3, "ansible_nested_user": "app"})
    rc, out, err = conn.exec_command(
        'read line; echo "got $line as $FAKE_USER"; echo warn >&2; exit 5', in_data=b"data\n"
    )
    assert (rc, out, err) == (5, b"got data as app\n", b"warn\n")
    hops = (fake_docker / "docker.log").read_text().splitlines()
    assert [h.split()[:3] for h in hops] == [["exec", "-i", "n1"], ["exec", "-i", "d1"], ["exec", "-i", "-u"]]


def test_fake_chain_gone_level_is_unreachable(fake_docker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GONE", "d1")
    conn = make(DEPTH3)
    with pytest.raises(AnsibleConnectionFailure) as err:
        conn.exec_command("echo never")
    assert "container d1 is gone or not running (looked up through local docker > n1)" in str(err.value)


def test_fake_chain_put_and_fetch_stream_a_large_file(fake_docker: Path) -> None:
    source = fake_docker / "big.bin"
    block = hashlib.sha256(b"seed").digest() * 4096  # 128 KiB
    with source.open("wb") as handle:
        for _block in range(64):  # 8 MiB
            handle.write(block)
    remote = fake_docker / "remote dir" / "big.bin"
    remote.parent.mkdir()
    conn = make(DEPTH3)
    conn.put_file(str(source), str(remote))
    assert remote.read_bytes() == source.read_bytes()
    back = fake_docker / "back.bin"
    conn.fetch_file(str(remote), str(back))
    assert hashlib.sha256(back.read_bytes()).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()


def _become(conn: Any, password: str | None) -> str:
    become = become_loader.get("sudo")
    options: dict[str, Any] = {"become_user": "root", "become_exe": "sudo"}
    if password is not None:
        options["become_pass"] = password
    become.set_options(direct=options)
    conn.set_become_plugin(become)
    return become.build_become_command('read line; echo "module got $line"', conn._shell)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "not-pipelined"])
def test_fake_chain_become_password_prompt_answered(fake_docker: Path, pipelining: bool) -> None:
    conn = make(DEPTH3)
    cmd = _become(conn, "s3cret")
    rc, out, err = conn.exec_command(cmd, in_data=b"stdin\n" if pipelining else None, sudoable=True)
    assert rc == 0, err
    assert out.splitlines()[-1] == (b"module got stdin" if pipelining else b"module got ")
    assert conn.become.check_success(out)


def test_fake_chain_become_wrong_password_returns_the_failure(fake_docker: Path) -> None:
    conn = make(DEPTH3)
    cmd = _become(conn, "wrong")
    rc, _out, err = conn.exec_command(cmd, in_data=b"", sudoable=True)
    assert rc == 1
    assert b"Sorry, try again." in err


def test_fake_chain_become_prompt_timeout(fake_docker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = make({**DEPTH3, "ansible_nested_timeout": 1})
    _become(conn, "s3cret")
    with pytest.raises(AnsibleError, match=r"timeout \(1 s\) waiting for the privilege escalation prompt"):
        conn.exec_command("sleep 2", sudoable=True)


def test_fake_chain_become_with_a_gone_level_is_unreachable(fake_docker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GONE", "c3")
    conn = make(DEPTH3)
    cmd = _become(conn, "s3cret")
    with pytest.raises(AnsibleConnectionFailure, match="container c3 is gone"):
        conn.exec_command(cmd, sudoable=True)


def test_docs_render() -> None:
    """ansible-doc's own loader parses the documentation (the sanity test checks the schema)."""
    from ansible.utils.plugin_docs import get_docstring

    path = plugin.__file__
    doc, examples, _ret, _meta = get_docstring(path, fragment_loader=None)
    prefixed = {key for key in doc["options"] if key in _chain.FIRST_HOP_KEYS}
    assert prefixed == set(_chain.FIRST_HOP_KEYS)
    for key in _chain.FIRST_HOP_KEYS:
        names = [v["name"] for v in doc["options"][key]["vars"]]
        assert names == [_chain.VAR_PREFIX + key]
    assert [v["name"] for v in doc["options"]["chain"]["vars"]] == ["ansible_nested_chain"]
    assert doc["options"]["chain"]["required"] is True
    assert textwrap.dedent(examples).startswith("\n---") or examples.lstrip().startswith("---")


def test_fake_chain_put_and_fetch_empty_file_and_odd_names(fake_docker: Path) -> None:
    conn = make(DEPTH3)
    empty = fake_docker / "empty"
    empty.write_bytes(b"")
    remote = fake_docker / "-dash $HOME 'q'.txt"
    remote.write_bytes(b"stale content")
    conn.put_file(str(empty), str(remote))
    assert remote.read_bytes() == b""
    remote.write_bytes(b"\xff\xfe not utf-8 \x00")
    back = fake_docker / "back"
    conn.fetch_file(str(remote), str(back))
    assert back.read_bytes() == b"\xff\xfe not utf-8 \x00"
