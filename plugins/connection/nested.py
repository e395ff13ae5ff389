# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# ruff: noqa: E402  (the imports follow DOCUMENTATION and EXAMPLES, as in every Ansible plugin)
from __future__ import annotations

DOCUMENTATION = r"""
name: nested
short_description: Run tasks in a container at any depth by chaining docker exec through each parent's engine
version_added: 0.1.0
description:
  - Reaches a container that runs on a Docker daemon inside another container (Docker-in-Docker, kind-style
    nodes), at any depth, by running C(docker exec -i) through the engine of every parent in turn.
  - The first hop is the docker CLI on the controller (O(first_hop=local)), optionally pointed at another
    endpoint with O(docker_host) (and TLS), or the docker CLI of a host reached over SSH (O(first_hop=ssh)).
    Every level below needs only its own C(docker) CLI and daemon.
  - Commands, pipelined modules and file transfers stream through the stdin and stdout of the hops; nothing
    is copied to the intermediate levels. The innermost container needs C(/bin/sh) (or
    C(ansible_shell_executable)) and C(cat).
  - A hop that is gone (container removed or stopped, daemon down, SSH host not answering) makes the host
    unreachable, with the hop named. A command that ran in the innermost container and failed returns its
    own exit code. The innermost shell writes a marker to stderr before anything else, which is how the
    two are told apart; the marker is removed from what Ansible sees.
  - The host variables are the ones the P(nested.hosts.nested#inventory) inventory plugin and the
    C(nested.hosts.child_connection) filter write (C(ansible_nested_*)).
author:
  - nested.hosts contributors !UNKNOWN
notes:
  - Privilege escalation works with methods that need no password (C(sudo) with NOPASSWD, C(su) from root)
    and with methods that read the password from stdin (C(sudo), which Ansible runs with C(-S)); the password
    prompt is answered through the chain. C(su) with a password needs a terminal, which C(docker exec -i)
    does not give; use C(sudo) or connect as the target user with O(remote_user).
  - Files written by C(put_file) belong to O(remote_user) (the container's default user when unset), as with
    P(community.docker.docker#connection); Ansible fixes modes and owners for become itself.
  - The SSH first hop runs C(ssh -o BatchMode=yes), so it needs a key or an agent, never a password prompt.
  - O(docker_host) deliberately does not read the E(DOCKER_HOST) environment variable. With a local first hop
    an unset O(docker_host) leaves the docker CLI to its own defaults, which already include E(DOCKER_HOST)
    and E(DOCKER_CONTEXT) from the controller's environment; with an SSH first hop the controller's
    E(DOCKER_HOST) names an endpoint of the controller, not of the remote host, so passing it on would
    point the remote docker CLI at the wrong daemon.
seealso:
  - plugin: community.docker.docker
    plugin_type: connection
options:
  chain:
    description:
      - The containers to pass through, outermost first; the last one is where tasks run.
      - The first runs on the first hop's daemon, every further one on the daemon inside the one before it.
      - Names or IDs as C(docker exec) takes them. A single string is taken as a chain of one.
    type: list
    elements: string
    required: true
    vars:
      - name: ansible_nested_chain
  first_hop:
    description:
      - Where the outermost C(docker) command runs.
      - V(local) runs it on the controller; V(ssh) runs it on O(ssh_host) over SSH. Nothing else is accepted;
        the plugin checks the value itself so that the error names C(ansible_nested_first_hop).
    type: string
    default: local
    vars:
      - name: ansible_nested_first_hop
    env:
      - name: ANSIBLE_NESTED_FIRST_HOP
    ini:
      - section: nested_connection
        key: first_hop
  docker_cli:
    description:
      - The docker CLI of the first hop (a name on its C(PATH) or a full path). Levels below always run C(docker).
    type: string
    default: docker
    vars:
      - name: ansible_nested_docker_cli
    env:
      - name: ANSIBLE_NESTED_DOCKER_CLI
    ini:
      - section: nested_connection
        key: docker_cli
  docker_host:
    description:
      - The Docker endpoint of the first hop's docker CLI (C(docker -H)), for example V(tcp://10.0.0.5:2376)
        or V(unix:///run/user/1000/docker.sock).
      - Unset, the docker CLI uses its own default (see the notes on E(DOCKER_HOST)).
    type: string
    vars:
      - name: ansible_nested_docker_host
    env:
      - name: ANSIBLE_NESTED_DOCKER_HOST
    ini:
      - section: nested_connection
        key: docker_host
  tls_ca_cert:
    description:
      - CA certificate to verify the daemon at a V(tcp://) O(docker_host) with (C(--tlsverify --tlscacert)).
      - Give O(tls_ca_cert), O(tls_client_cert) and O(tls_client_key) together or not at all. Paths are on the
        first hop (the controller, or O(ssh_host)).
    type: path
    vars:
      - name: ansible_nested_tls_ca_cert
    env:
      - name: ANSIBLE_NESTED_TLS_CA_CERT
    ini:
      - section: nested_connection
        key: tls_ca_cert
  tls_client_cert:
    description:
      - Client certificate for the daemon at O(docker_host) (C(--tlscert)). See O(tls_ca_cert).
    type: path
    vars:
      - name: ansible_nested_tls_client_cert
    env:
      - name: ANSIBLE_NESTED_TLS_CLIENT_CERT
    ini:
      - section: nested_connection
        key: tls_client_cert
  tls_client_key:
    description:
      - Key of O(tls_client_cert) (C(--tlskey)). See O(tls_ca_cert).
    type: path
    vars:
      - name: ansible_nested_tls_client_key
    env:
      - name: ANSIBLE_NESTED_TLS_CLIENT_KEY
    ini:
      - section: nested_connection
        key: tls_client_key
  ssh_host:
    description:
      - The host whose docker CLI runs the outermost C(docker exec) when O(first_hop=ssh); required then.
      - This is not C(ansible_host), which names the innermost container for this plugin.
    type: string
    vars:
      - name: ansible_nested_ssh_host
  ssh_port:
    description:
      - SSH port of O(ssh_host); unset, SSH's own default (its config, else 22).
      - Checked to be a number from 1 to 65535; a bad value fails the task naming C(ansible_nested_ssh_port).
    type: raw
    vars:
      - name: ansible_nested_ssh_port
  ssh_user:
    description:
      - User to log in to O(ssh_host) as; unset, SSH's own default. Not the user inside the container (O(remote_user)).
    type: string
    vars:
      - name: ansible_nested_ssh_user
    env:
      - name: ANSIBLE_NESTED_SSH_USER
    ini:
      - section: nested_connection
        key: ssh_user
  ssh_private_key_file:
    description:
      - Private key for O(ssh_host) (C(ssh -i ... -o IdentitiesOnly=yes)).
    type: path
    vars:
      - name: ansible_nested_ssh_private_key_file
    env:
      - name: ANSIBLE_NESTED_SSH_PRIVATE_KEY_FILE
    ini:
      - section: nested_connection
        key: ssh_private_key_file
  ssh_common_args:
    description:
      - Extra arguments for C(ssh), split like a shell would (no expansion), for example
        V(-o ProxyJump=bastion -o StrictHostKeyChecking=accept-new).
    type: string
    vars:
      - name: ansible_nested_ssh_common_args
    env:
      - name: ANSIBLE_NESTED_SSH_COMMON_ARGS
    ini:
      - section: nested_connection
        key: ssh_common_args
  ssh_control_persist:
    description:
      - How long the SSH master connection to O(ssh_host) stays open after its last command
        (C(ssh -o ControlMaster=auto -o ControlPersist)). Every command after the first one reuses it
        instead of a new SSH handshake, which otherwise costs most of a command's time.
      - V(no) (or V(0), V(false)) turns multiplexing off; needed only with OpenSSH older than 7.3, whose
        background master kept the first command's stderr open until it exited.
    type: string
    default: 60s
    vars:
      - name: ansible_nested_ssh_control_persist
    env:
      - name: ANSIBLE_NESTED_SSH_CONTROL_PERSIST
    ini:
      - section: nested_connection
        key: ssh_control_persist
  ssh_control_path_dir:
    description:
      - Directory on the controller for the master connections' sockets (C(ControlPath=DIR/nested-%C)),
        created with mode 0700 when missing. A Unix socket path holds at most 107 bytes, so keep it short
        (at most 42 bytes); with a longer one multiplexing is off, with a warning.
    type: path
    default: ~/.ansible/cp
    vars:
      - name: ansible_nested_ssh_control_path_dir
    env:
      - name: ANSIBLE_NESTED_SSH_CONTROL_PATH_DIR
    ini:
      - section: nested_connection
        key: ssh_control_path_dir
  remote_user:
    description:
      - The user to run as inside the innermost container (C(docker exec -u)); names or C(uid[:gid]).
      - Unset, the container's default user (its image's C(USER), usually root).
      - C(ansible_nested_user) wins over C(ansible_user), so a fleet-wide SSH login in C(ansible_user),
        E(ANSIBLE_REMOTE_USER) or C(-u) can be overridden for the containers alone.
    type: string
    vars:
      - name: ansible_user
      - name: ansible_nested_user
    env:
      - name: ANSIBLE_REMOTE_USER
    ini:
      - section: defaults
        key: remote_user
    cli:
      - name: user
    keyword:
      - name: remote_user
  timeout:
    description:
      - Seconds to wait for the SSH first hop to connect (C(ssh -o ConnectTimeout)) and for a privilege
        escalation prompt to appear. Commands themselves are not timed out (use the task's C(timeout)).
    type: integer
    default: 10
    vars:
      - name: ansible_nested_timeout
    env:
      - name: ANSIBLE_TIMEOUT
    ini:
      - section: defaults
        key: timeout
    cli:
      - name: timeout
"""

EXAMPLES = r"""
---
# In an inventory (for example host_vars): a dind container inside a node on this machine,
# a container two levels down on a remote host reached over SSH, and a node behind a TLS endpoint.
#
#   dind-1:
#     ansible_connection: nested.hosts.nested
#     ansible_nested_chain: [node-1, dind-1]
#     ansible_python_interpreter: /usr/bin/python3
#   remote-app:
#     ansible_connection: nested.hosts.nested
#     ansible_nested_first_hop: ssh
#     ansible_nested_ssh_host: 203.0.113.10
#     ansible_nested_ssh_user: admin
#     ansible_nested_chain: [node-1, dind-1, app]
#     ansible_nested_user: app
#   tls-node:
#     ansible_connection: nested.hosts.nested
#     ansible_nested_docker_host: tcp://10.0.0.5:2376
#     ansible_nested_tls_ca_cert: /etc/nested-hosts/certs/ca.pem
#     ansible_nested_tls_client_cert: /etc/nested-hosts/certs/cert.pem
#     ansible_nested_tls_client_key: /etc/nested-hosts/certs/key.pem
#     ansible_nested_chain: [node-1]

- name: Work inside the innermost container
  hosts: dind-1
  gather_facts: false
  tasks:
    - name: Run a command as nobody
      ansible.builtin.command: id -un
      become: true
      become_user: nobody
      changed_when: false

- name: Reach a container started on dind-1's daemon (one level further down)
  hosts: dind-1
  gather_facts: false
  tasks:
    - name: Add it with dind-1's chain plus its own name
      ansible.builtin.add_host: "{{ {'name': 'app-1'} | combine(hostvars[inventory_hostname] | nested.hosts.child_connection('app-1')) }}"
"""

import fcntl
import os
import selectors
import subprocess
import tempfile
import typing as t

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound, AnsibleRequiredOptionError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display
from ansible_collections.nested.hosts.plugins.module_utils import _chain

display = Display()


class Connection(ConnectionBase):
    """Run commands and move files through a chain of ``docker exec -i``."""

    transport = _chain.CONNECTION_NAME
    has_pipelining = True
    # docker exec -i gives no terminal; become plugins that need one are told so.
    has_tty = False

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._first_hop = _chain.FirstHop()  # replaced by the validated options in _connect()
        self._chain: list[str] = []

    # ------------------------------------------------------------------ options

    def set_options(
        self,
        task_keys: dict[str, t.Any] | None = None,
        var_options: dict[str, t.Any] | None = None,
        direct: dict[str, t.Any] | None = None,
    ) -> None:
        try:
            super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        except AnsibleRequiredOptionError as err:
            if "'chain'" not in str(err):
                raise
            raise AnsibleError(
                "nested.hosts.nested: ansible_nested_chain is not set; give the host the list of containers to "
                "pass through, outermost first (the nested.hosts.nested inventory plugin and the "
                "nested.hosts.child_connection filter write it)."
            ) from None
        self._connected = False  # options changed: validate them again before the next command

    def _load_chain(self) -> None:
        """Validate the options into a first hop and a chain; AnsibleError names the bad variable."""
        values = {key: self.get_option(key) for key in _chain.FIRST_HOP_KEYS}
        try:
            chain = _chain.validate_chain(self.get_option("chain"))
            first_hop = _chain.make_first_hop(values)
        except _chain.ChainError as err:
            raise AnsibleError(f"nested.hosts.nested: {err}") from None
        if first_hop.kind == "ssh":
            # After the user's arguments: ssh keeps the first value of an option, so theirs win.
            extra = ["-o", f"ConnectTimeout={self._timeout()}"]
            persist = str(self.get_option("ssh_control_persist") or "").strip()
            if persist.lower() not in ("", "0", "no", "false"):
                directory = os.path.expanduser(str(self.get_option("ssh_control_path_dir") or "~/.ansible/cp"))
                # ssh binds DIR/nested-<40 hex>.<16 random> first; a Unix socket path holds 107 bytes.
                if len(os.fsencode(directory)) + len("/nested-") + 40 + 17 > 107:
                    display.warning(
                        f"nested.hosts.nested: ansible_nested_ssh_control_path_dir {directory} is too long for an SSH "
                        "control socket; SSH multiplexing is off (every command makes its own SSH connection)."
                    )
                else:
                    try:
                        os.makedirs(directory, mode=0o700, exist_ok=True)
                    except OSError as err:
                        raise AnsibleError(
                            f"nested.hosts.nested: cannot create ansible_nested_ssh_control_path_dir {directory}: {err}"
                        ) from None
                    extra += ["-o", "ControlMaster=auto", "-o", f"ControlPersist={persist}"]
                    extra += ["-o", f"ControlPath={os.path.join(directory, 'nested-%C')}"]
            first_hop = first_hop._replace(ssh_common_args=first_hop.ssh_common_args + tuple(extra))
        self._first_hop, self._chain = first_hop, chain

    def _timeout(self) -> int:
        try:
            return max(1, int(self.get_option("timeout")))
        except (TypeError, ValueError):
            raise AnsibleError(
                f"nested.hosts.nested: ansible_nested_timeout={self.get_option('timeout')!r} is not a number of seconds."
            ) from None

    def _shell_executable(self) -> str:
        return getattr(self._play_context, "executable", None) or "/bin/sh"

    def _where(self) -> str:
        return _chain.describe(self._first_hop, self._chain)

    def _argv(self, script: str, args: t.Sequence[str] = ()) -> list[bytes]:
        command = _chain.started_command(self._shell_executable(), script, args)
        argv = _chain.hop_argv(
            self._first_hop, self._chain, command, user=self.get_option("remote_user") or None, interactive=True
        )
        return [to_bytes(a, errors="surrogate_or_strict") for a in argv]

    # ------------------------------------------------------------------ connection

    def _connect(self) -> Connection:
        super()._connect()
        if not self._connected:
            self._load_chain()
            display.vvv(
                f"ESTABLISH NESTED CONNECTION THROUGH {self._where()} FOR USER: {self.get_option('remote_user') or '?'}",
                host=self._chain[-1],
            )
            self._connected = True
        return self

    def _popen(self, argv: list[bytes], **kwargs: t.Any) -> subprocess.Popen:
        try:
            return subprocess.Popen(argv, **kwargs)  # pylint: disable=consider-using-with
        except OSError as err:
            raise AnsibleConnectionFailure(
                f"nested.hosts.nested: cannot run the first hop of {self._where()}: {to_native(argv[0])}: {err}"
            ) from None

    def _check_started(self, rc: int, stderr: bytes, stdout: bytes = b"") -> bytes:
        """Raise AnsibleConnectionFailure unless the innermost shell started; return stderr without the marker.

        Without the marker nothing of the command ran, so stdout holds only what the hops printed:
        docker exec prints the runtime's own errors (no docker CLI in a level, no shell in the
        innermost container) there, not on stderr.
        """
        started, stderr = _chain.split_started(stderr)
        if not started:
            text = to_text(stderr + b"\n" + stdout, errors="surrogate_or_replace")
            why = _chain.chain_failure(self._first_hop, self._chain, rc, text)
            raise AnsibleConnectionFailure(f"nested.hosts.nested: {why}")
        return stderr

    def exec_command(self, cmd: str, in_data: bytes | None = None, sudoable: bool = True) -> tuple[int, bytes, bytes]:
        """Run ``cmd`` with the shell in the innermost container; stdin is ``in_data`` (pipelining)."""
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = self._argv(cmd)
        display.vvv(f"EXEC {to_text(cmd)}", host=self._chain[-1])
        display.vvvv(f"EXEC argv {[to_text(a) for a in argv]}", host=self._chain[-1])
        proc = self._popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        early_out, early_err = b"", b""
        if self.become and sudoable and self.become.expect_prompt():
            early_out, early_err = self._answer_become_prompt(proc)
        stdout, stderr = proc.communicate(in_data)
        stdout, stderr = early_out + stdout, early_err + stderr
        stderr = self._check_started(proc.returncode, stderr, stdout)
        return proc.returncode, stdout, stderr

    def _answer_become_prompt(self, proc: t.Any) -> tuple[bytes, bytes]:
        """Read until become succeeded or asked for its password; answer the prompt on stdin.

        Returns what was read (stdout, stderr) so that nothing the command printed is lost. When
        the chain closes first (a hop is gone), returns at once: the caller then names the hop.
        """
        read = {proc.stdout: b"", proc.stderr: b""}
        for pipe in read:
            fcntl.fcntl(pipe, fcntl.F_SETFL, fcntl.fcntl(pipe, fcntl.F_GETFL) | os.O_NONBLOCK)
        selector = selectors.DefaultSelector()
        for pipe in read:
            selector.register(pipe, selectors.EVENT_READ)
        open_pipes = len(read)
        prompted = False
        try:
            while open_pipes:
                # The started marker has no newline after it: leave it out, or the prompt would not
                # start a line and check_password_prompt would not see it.
                out, err = read[proc.stdout], _chain.split_started(read[proc.stderr])[1]
                if self.become.check_success(out) or self.become.check_success(err):
                    break
                if self.become.check_password_prompt(err) or self.become.check_password_prompt(out):
                    prompted = True
                    break
                events = selector.select(self._timeout())
                if not events:
                    proc.kill()
                    proc.communicate()
                    raise AnsibleError(
                        f"nested.hosts.nested: timeout ({self._timeout()} s) waiting for the privilege escalation "
                        f"prompt in {self._where()}; output so far: {to_native(out + err)!r}"
                    )
                for key, _mask in events:
                    chunk = key.fileobj.read()  # type: ignore[union-attr]
                    if chunk:
                        read[key.fileobj] += chunk
                    else:
                        selector.unregister(key.fileobj)
                        open_pipes -= 1
        finally:
            selector.close()
            for pipe in read:
                if not pipe.closed:
                    fcntl.fcntl(pipe, fcntl.F_SETFL, fcntl.fcntl(pipe, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        if prompted:
            password = self.become.get_option("become_pass", playcontext=self._play_context) or ""
            try:
                proc.stdin.write(to_bytes(password, errors="surrogate_or_strict") + b"\n")
                proc.stdin.flush()
            except BrokenPipeError:
                pass  # the chain is gone; communicate() and the marker check say where
        return read[proc.stdout], read[proc.stderr]

    # ------------------------------------------------------------------ files

    def put_file(self, in_path: str, out_path: str) -> None:
        """Stream ``in_path`` through the chain into ``out_path``, written as the remote user."""
        super().put_file(in_path, out_path)
        display.vvv(f"PUT {in_path} TO {out_path}", host=self._chain[-1])
        b_in = to_bytes(in_path, errors="surrogate_or_strict")
        if not os.path.isfile(b_in):
            raise AnsibleFileNotFound(f"nested.hosts.nested: file to put does not exist or is not a file: {in_path}")
        argv = self._argv('cat > "$1"', [out_path])
        with open(b_in, "rb") as source:
            proc = self._popen(argv, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            stdout, stderr = proc.communicate()
        stderr = self._check_started(proc.returncode, stderr, stdout)
        if proc.returncode != 0:
            raise AnsibleError(
                f"nested.hosts.nested: failed to write {out_path} in {self._where()} (rc {proc.returncode}): "
                f"{to_native(stderr or stdout).strip()}"
            )

    def fetch_file(self, in_path: str, out_path: str) -> None:
        """Stream ``in_path`` from the innermost container into ``out_path`` (replaced only on success)."""
        super().fetch_file(in_path, out_path)
        display.vvv(f"FETCH {in_path} TO {out_path}", host=self._chain[-1])
        argv = self._argv('cat -- "$1"', [in_path])
        b_out = to_bytes(out_path, errors="surrogate_or_strict")
        fd, b_tmp = tempfile.mkstemp(prefix=b".nested-fetch-", dir=os.path.dirname(b_out) or b".")
        try:
            # mkstemp makes the file 0600; give it the mode a plain open() would (0666 less the umask).
            umask = os.umask(0o022)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
            with os.fdopen(fd, "wb") as target:
                proc = self._popen(argv, stdin=subprocess.DEVNULL, stdout=target, stderr=subprocess.PIPE)
                _stdout, stderr = proc.communicate()
            if not _chain.split_started(stderr)[0]:
                # What the hops printed on stdout went into the file: read it for the message.
                with open(b_tmp, "rb") as partial:
                    _stdout = partial.read(4096)
            stderr = self._check_started(proc.returncode, stderr, _stdout or b"")
            if proc.returncode != 0:
                raise AnsibleError(
                    f"nested.hosts.nested: failed to read {in_path} in {self._where()} (rc {proc.returncode}): "
                    f"{to_native(stderr).strip()}"
                )
            os.replace(b_tmp, b_out)
        finally:
            if os.path.exists(b_tmp):
                os.unlink(b_tmp)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Nothing stays open between commands."""
        super().close()
        self._connected = False

    def reset(self) -> None:
        """Re-read the options on the next command (``meta: reset_connection``)."""
        self.close()
