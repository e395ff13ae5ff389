# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for reaching a container at any depth by chaining ``docker exec``.

A *chain* is a first hop plus a list of container names, outermost first::

    first hop (local docker CLI, or ssh to a host that has one)
      -> docker exec -i c1              (c1 runs on the first hop's daemon)
         -> docker exec -i c2           (c2 runs on the daemon inside c1)
            -> ... command

``docker exec`` passes its argv to the container unchanged (no shell in between), so the
argv of every hop is the plain concatenation of the hops before it: nothing is quoted
until an ssh first hop, where the whole argv is quoted once for the remote shell.

Used by the ``nested.hosts.nested`` connection plugin (to run commands and stream files),
the ``nested.hosts.nested`` inventory plugin (to discover levels) and the
``nested.hosts.child_connection`` filter (to give a new level its connection variables).
Nothing here runs a process.
"""

from __future__ import annotations

import re
import shlex
import typing as t

# Docker's own rule for container names (daemon/names.go), which also admits IDs.
_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
FIRST_HOPS = ("local", "ssh")
CONNECTION_NAME = "nested.hosts.nested"
# Connection plugin names that mean "commands run on the controller itself".
_LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")
_SSH_CONNECTIONS = ("ssh", "ansible.builtin.ssh", "paramiko", "ansible.builtin.paramiko_ssh", "paramiko_ssh", "smart")
_DOCKER_CONNECTIONS = ("docker", "community.docker.docker")
_NESTED_CONNECTIONS = (CONNECTION_NAME, "nested")

# Host variables of the connection plugin; the filter and inventory plugin write the same names.
VAR_PREFIX = "ansible_nested_"
FIRST_HOP_KEYS = (
    "first_hop",
    "docker_cli",
    "docker_host",
    "tls_ca_cert",
    "tls_client_cert",
    "tls_client_key",
    "ssh_host",
    "ssh_port",
    "ssh_user",
    "ssh_private_key_file",
    "ssh_common_args",
)


class ChainError(ValueError):
    """A chain or first hop that cannot be used; the message names the option and the fix."""


class FirstHop(t.NamedTuple):
    """Where the outermost ``docker`` command runs and which daemon it talks to."""

    kind: str = "local"
    docker_cli: str = "docker"
    docker_host: str | None = None
    tls_ca_cert: str | None = None
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    ssh_host: str | None = None
    ssh_port: int | None = None
    ssh_user: str | None = None
    ssh_private_key_file: str | None = None
    ssh_common_args: tuple[str, ...] = ()


def _opt(prefix: str, name: str) -> str:
    return f"{prefix}{name}"


def make_first_hop(values: t.Mapping[str, t.Any], prefix: str = VAR_PREFIX) -> FirstHop:
    """Build and validate a :class:`FirstHop` from option values keyed by ``FIRST_HOP_KEYS``.

    ``prefix`` is only used in error messages, so they name the variable the user set.
    """
    kind = values.get("first_hop") or "local"
    if kind not in FIRST_HOPS:
        raise ChainError(f"{_opt(prefix, 'first_hop')}={kind!r} is not supported; use one of {', '.join(FIRST_HOPS)}.")
    docker_cli = values.get("docker_cli") or "docker"
    docker_host = values.get("docker_host") or None
    if docker_host and not re.match(r"^(unix|tcp|ssh|npipe|fd)://", str(docker_host)):
        raise ChainError(
            f"{_opt(prefix, 'docker_host')}={docker_host!r} is not a Docker endpoint; "
            "use unix:///path, tcp://host:port or ssh://user@host."
        )
    tls = {k: values.get(k) or None for k in ("tls_ca_cert", "tls_client_cert", "tls_client_key")}
    given = [k for k, v in tls.items() if v]
    if given and len(given) != 3:
        missing = sorted(set(tls) - set(given))
        raise ChainError(
            f"TLS needs all three of tls_ca_cert, tls_client_cert and tls_client_key; "
            f"set {', '.join(_opt(prefix, m) for m in missing)} as well (or none of them)."
        )
    if given and not (docker_host and str(docker_host).startswith("tcp://")):
        raise ChainError(
            f"{_opt(prefix, 'tls_ca_cert')} is set but {_opt(prefix, 'docker_host')} is not a tcp:// endpoint; "
            "TLS applies only to tcp://host:port."
        )
    ssh_port = values.get("ssh_port")
    if ssh_port not in (None, ""):
        try:
            ssh_port = int(ssh_port)
        except (TypeError, ValueError):
            raise ChainError(f"{_opt(prefix, 'ssh_port')}={ssh_port!r} is not a port number; use 1-65535.") from None
        if not 0 < ssh_port < 65536:
            raise ChainError(f"{_opt(prefix, 'ssh_port')}={ssh_port} is out of range; use 1-65535.")
    else:
        ssh_port = None
    common = values.get("ssh_common_args") or ()
    if isinstance(common, str):
        common = tuple(shlex.split(common))
    if kind == "ssh" and not values.get("ssh_host"):
        raise ChainError(f"{_opt(prefix, 'first_hop')}=ssh needs {_opt(prefix, 'ssh_host')}: the host to ssh to.")
    return FirstHop(
        kind=kind,
        docker_cli=str(docker_cli),
        docker_host=str(docker_host) if docker_host else None,
        tls_ca_cert=tls["tls_ca_cert"],
        tls_client_cert=tls["tls_client_cert"],
        tls_client_key=tls["tls_client_key"],
        ssh_host=values.get("ssh_host") or None,
        ssh_port=ssh_port,
        ssh_user=values.get("ssh_user") or None,
        ssh_private_key_file=values.get("ssh_private_key_file") or None,
        ssh_common_args=tuple(str(a) for a in common),
    )


def validate_chain(chain: t.Any, option: str = VAR_PREFIX + "chain") -> list[str]:
    """Return the chain as a list of container names, or raise :class:`ChainError`."""
    if isinstance(chain, str):
        chain = [chain]
    if not isinstance(chain, (list, tuple)) or not chain:
        raise ChainError(f"{option} must be a non-empty list of container names, outermost first; got {chain!r}.")
    names = []
    for index, name in enumerate(chain):
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ChainError(
                f"{option}[{index}]={name!r} is not a container name or ID; "
                "names start with a letter or digit and hold only letters, digits, '_', '.' and '-'."
            )
        names.append(name.lstrip("/"))
    return names


def docker_argv(first_hop: FirstHop) -> list[str]:
    """The outermost ``docker`` invocation with its endpoint and TLS flags."""
    argv = [first_hop.docker_cli]
    if first_hop.docker_host:
        argv += ["-H", first_hop.docker_host]
    if first_hop.tls_ca_cert:
        argv += [
            "--tlsverify",
            f"--tlscacert={first_hop.tls_ca_cert}",
            f"--tlscert={first_hop.tls_client_cert}",
            f"--tlskey={first_hop.tls_client_key}",
        ]
    return argv


def ssh_argv(first_hop: FirstHop) -> list[str]:
    """The ``ssh`` prefix of an ssh first hop; the remote command is appended as one quoted word."""
    argv = ["ssh", "-o", "BatchMode=yes", "-T"]
    if first_hop.ssh_port:
        argv += ["-p", str(first_hop.ssh_port)]
    if first_hop.ssh_user:
        argv += ["-l", first_hop.ssh_user]
    if first_hop.ssh_private_key_file:
        argv += ["-i", first_hop.ssh_private_key_file, "-o", "IdentitiesOnly=yes"]
    argv += list(first_hop.ssh_common_args)
    argv += ["--", str(first_hop.ssh_host)]
    return argv


def hop_argv(
    first_hop: FirstHop,
    chain: t.Sequence[str],
    command: t.Sequence[str],
    *,
    user: str | None = None,
    workdir: str | None = None,
    env: t.Mapping[str, str] | None = None,
    interactive: bool = True,
) -> list[str]:
    """argv that runs ``command`` in the innermost container of ``chain``.

    An empty ``chain`` runs ``command`` at the first hop itself (the inventory plugin lists
    the containers of the first hop's daemon that way). ``user``, ``workdir`` and ``env``
    apply to the innermost container only; ``interactive`` keeps stdin open at every hop,
    which pipelining and file uploads need.
    """
    inner: list[str] = []
    last = len(chain) - 1
    for index, name in enumerate(chain):
        inner += docker_argv(first_hop) if index == 0 else ["docker"]
        inner.append("exec")
        if interactive:
            inner.append("-i")
        if index == last:
            if user:
                inner += ["-u", user]
            if workdir:
                inner += ["-w", workdir]
            for key, value in sorted((env or {}).items()):
                inner += ["-e", f"{key}={value}"]
        inner.append(name)
    inner += list(command)
    if not chain and command and command[0] == "docker":
        # A docker command at the first hop itself gets the first hop's endpoint and TLS flags.
        inner = docker_argv(first_hop) + list(command[1:])
    if first_hop.kind == "ssh":
        return ssh_argv(first_hop) + [shlex.join(inner)]
    return inner


def describe(first_hop: FirstHop, chain: t.Sequence[str]) -> str:
    """A short human name of a chain, e.g. ``ssh root@127.0.0.1:2222 > node-1 > dind-1``."""
    if first_hop.kind == "ssh":
        head = "ssh " + (f"{first_hop.ssh_user}@" if first_hop.ssh_user else "") + str(first_hop.ssh_host)
        head += f":{first_hop.ssh_port}" if first_hop.ssh_port else ""
    else:
        head = "local docker" + (f" ({first_hop.docker_host})" if first_hop.docker_host else "")
    return " > ".join([head, *chain])


# Messages by which a docker CLI says the container it was asked to exec into is gone.
_GONE_PATTERNS = (
    re.compile(r"No such container: (?P<name>[^\s\"']+)"),
    re.compile(r"[Cc]ontainer (?P<name>[0-9a-zA-Z_.-]+) is not running"),
    re.compile(r"[Cc]ontainer (?P<name>[0-9a-zA-Z_.-]+) is (?:paused|restarting)"),
)
_NO_DAEMON = re.compile(r"Cannot connect to the Docker daemon at (?P<where>\S+)|error during connect")
_NO_CLI = re.compile(r'exec: "?docker"?: executable file not found')


def hop_failure(first_hop: FirstHop, chain: t.Sequence[str], rc: int, stderr: str) -> str | None:
    """Name the hop that broke when ``rc``/``stderr`` say the chain itself failed, else ``None``.

    A command that ran and failed on its own (any rc with no such message) is not a chain
    failure: Ansible then reports the module's own error.
    """
    text = stderr or ""
    if first_hop.kind == "ssh" and rc == 255:
        last_line = text.strip().splitlines()[-1] if text.strip() else "no message"
        return f"the first hop {describe(first_hop, [])} did not answer (ssh exit 255: {last_line})"
    for pattern in _GONE_PATTERNS:
        match = pattern.search(text)
        if match:
            name = match.group("name")
            where = _hop_of(chain, name)
            parent = describe(first_hop, chain[:where]) if where is not None else describe(first_hop, [])
            label = chain[where] if where is not None else name
            return f"container {label} is gone or not running (looked up through {parent})"
    match = _NO_DAEMON.search(text)
    if match and rc != 0:
        return f"no Docker daemon answered on the way to {describe(first_hop, chain)}: {text.strip().splitlines()[-1]}"
    match = _NO_CLI.search(text)
    if match and rc in (126, 127):
        return f"a level on the way to {describe(first_hop, chain)} has no docker CLI to run the next hop"
    return None


def _hop_of(chain: t.Sequence[str], name: str) -> int | None:
    for index, hop in enumerate(chain):
        if hop == name or (len(name) >= 12 and hop.startswith(name)):
            return index
    return None


def first_hop_vars(first_hop: FirstHop) -> dict[str, t.Any]:
    """The ``ansible_nested_*`` host variables that recreate ``first_hop`` (unset ones left out)."""
    out: dict[str, t.Any] = {}
    for key in FIRST_HOP_KEYS:
        value = getattr(first_hop, "kind" if key == "first_hop" else key)
        if key == "ssh_common_args":
            value = shlex.join(value) if value else None
        if key == "docker_cli" and value == "docker":
            value = None
        if value not in (None, ""):
            out[VAR_PREFIX + key] = value
    return out


def host_vars(first_hop: FirstHop, chain: t.Sequence[str], python: str = "/usr/bin/python3") -> dict[str, t.Any]:
    """Every host variable a level reached through ``chain`` needs for ``nested.hosts.nested``."""
    out = {
        "ansible_connection": CONNECTION_NAME,
        "ansible_host": chain[-1],
        VAR_PREFIX + "chain": list(chain),
        "ansible_python_interpreter": python,
    }
    out.update(first_hop_vars(first_hop))
    return out


def child_vars(parent: t.Mapping[str, t.Any], name: str, python: str = "/usr/bin/python3") -> dict[str, t.Any]:
    """Host variables of container ``name`` that runs on the Docker daemon of host ``parent``.

    ``parent`` holds the parent's variables (``hostvars[parent]``): its connection decides the
    first hop. A parent on the controller (``local``) gives a local first hop; a parent reached
    over SSH gives an ssh first hop with the same address, port, user and key; a parent that is
    itself a container (``community.docker.docker`` or this collection's chain) gives the
    parent's chain plus ``name``.
    """
    validate_chain([name], option="name")
    connection = str(parent.get("ansible_connection") or "ssh")
    if connection in _NESTED_CONNECTIONS:
        values = {key: parent.get(VAR_PREFIX + key) for key in FIRST_HOP_KEYS}
        first = make_first_hop(values)
        chain = validate_chain(parent.get(VAR_PREFIX + "chain")) + [name]
    elif connection in _LOCAL_CONNECTIONS:
        first, chain = FirstHop(), [name]
    elif connection in _DOCKER_CONNECTIONS:
        # community.docker.docker names the container by ansible_docker_host > ansible_host >
        # inventory_hostname, and takes the daemon endpoint from ansible_docker_extra_args.
        outer = parent.get("ansible_docker_host") or parent.get("ansible_host") or parent.get("inventory_hostname")
        first = make_first_hop(
            docker_args_values(parent.get("ansible_docker_extra_args")), prefix="(from ansible_docker_extra_args) "
        )
        chain = validate_chain([outer], option="the parent's container name") + [name]
    elif connection in _SSH_CONNECTIONS:
        first = make_first_hop(
            {
                "first_hop": "ssh",
                "ssh_host": parent.get("ansible_host") or parent.get("inventory_hostname"),
                "ssh_port": parent.get("ansible_port") or parent.get("ansible_ssh_port"),
                "ssh_user": parent.get("ansible_user") or parent.get("ansible_ssh_user"),
                "ssh_private_key_file": parent.get("ansible_ssh_private_key_file")
                or parent.get("ansible_private_key_file"),
                "ssh_common_args": " ".join(
                    str(parent.get(k) or "") for k in ("ansible_ssh_common_args", "ansible_ssh_extra_args")
                ).strip(),
            },
            prefix="ansible_",
        )
        chain = [name]
    else:
        raise ChainError(
            f"the parent's ansible_connection={connection!r} cannot be chained through; "
            "reach the parent with local, ssh, community.docker.docker or nested.hosts.nested."
        )
    return host_vars(first, chain, python=python)


# The innermost shell writes this to stderr before anything else, so a caller can tell a chain
# that never reached the innermost level (every hop's own error, any rc) from a command that ran
# there and failed on its own (whatever it prints, even "No such container" from a docker CLI
# it runs itself). ASCII record separators keep it out of any text a command would print.
STARTED_MARKER = b"\x1enested.hosts:started\x1e"
_MARKER_PRINTF = "printf '\\036nested.hosts:started\\036' >&2; "


def started_command(shell: str, script: str, args: t.Sequence[str] = ()) -> list[str]:
    """``[shell, -c, script, shell, *args]`` with ``script`` first writing :data:`STARTED_MARKER`.

    ``args`` become ``$1``, ``$2``, ... of ``script`` (unquoted: every hop passes argv unchanged).
    """
    command = [shell, "-c", _MARKER_PRINTF + script]
    if args:
        command += [shell, *args]
    return command


def split_started(stderr: bytes) -> tuple[bool, bytes]:
    """``(started, stderr without the marker)`` for the stderr of a :func:`started_command`."""
    head, found, tail = stderr.partition(STARTED_MARKER)
    return (True, head + tail) if found else (False, stderr)


def chain_failure(first_hop: FirstHop, chain: t.Sequence[str], rc: int, stderr: str) -> str:
    """Why a command did not start in the innermost container: :func:`hop_failure`'s hop when the
    message names one, else the chain and the last line the hops printed."""
    named = hop_failure(first_hop, chain, rc, stderr)
    if named:
        return named
    lines = (stderr or "").strip().splitlines()
    last = lines[-1] if lines else "no message"
    return f"the command did not start in the innermost container of {describe(first_hop, chain)} (rc {rc}: {last})"


# docker CLI global flags that say which daemon to talk to, as FIRST_HOP_KEYS.
_DOCKER_ENDPOINT_FLAGS = {
    "-H": "docker_host",
    "--host": "docker_host",
    "--tlscacert": "tls_ca_cert",
    "--tlscert": "tls_client_cert",
    "--tlskey": "tls_client_key",
}
_DOCKER_BOOL_FLAGS = ("--tlsverify", "--tls", "--tlsverify=true", "--tls=true")


def docker_args_values(extra_args: str | t.Sequence[str] | None) -> dict[str, str]:
    """First-hop values (``FIRST_HOP_KEYS``) from community.docker's ``ansible_docker_extra_args``.

    Understands ``-H``/``--host`` and the TLS flags (``--flag value`` and ``--flag=value``); any
    other flag raises :class:`ChainError`, because dropping it could point at another daemon.
    """
    words = shlex.split(extra_args) if isinstance(extra_args, str) else list(extra_args or ())
    out: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = str(words[index])
        flag, eq, value = word.partition("=")
        if word in _DOCKER_BOOL_FLAGS:
            index += 1
            continue
        if flag in _DOCKER_ENDPOINT_FLAGS:
            if not eq:
                if index + 1 >= len(words):
                    raise ChainError(f"ansible_docker_extra_args: {flag} needs a value.")
                index += 1
                value = str(words[index])
            out[_DOCKER_ENDPOINT_FLAGS[flag]] = value
            index += 1
            continue
        raise ChainError(
            f"ansible_docker_extra_args: {word!r} cannot be carried over to a chained connection; "
            "only -H/--host, --tlsverify, --tlscacert, --tlscert and --tlskey are understood. "
            "Give the child its ansible_nested_* variables directly instead."
        )
    return out
