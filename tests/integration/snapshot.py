# SPDX-License-Identifier: GPL-3.0-or-later
"""A snapshot of what a run of the collection could change on a Docker host.

``take()`` records:

* files: the bytes (sha256, size, mode) of ``/etc/docker/daemon.json`` and of any other path
  given; a directory is recorded file by file, a missing path as missing;
* dockerd: the pid and start time of the host's dockerd (a restart shows up);
* containers: name -> (ID, state); volumes: names; networks: name -> ID; images: repo:tag -> ID.

``diff(before, after)`` returns readable lines (``+ added``, ``- removed``, ``~ changed``);
an empty list means nothing changed.

The host's dockerd is shared: other test areas create and remove their own objects while these
tests run. Objects whose names match ``DEFAULT_FOREIGN`` (other areas' prefixes, unnamed containers, the shared images the
roles build, anonymous volumes) are left out of the comparison unless ``NH_SNAPSHOT_STRICT=1``
(use that in CI, where nothing else runs). ``NH_SNAPSHOT_IGNORE`` replaces the pattern.

Command line::

    python tests/integration/snapshot.py take [PATH ...] > before.json
    python tests/integration/snapshot.py diff before.json after.json
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from typing import Any

import yaml

DAEMON_JSON = "/etc/docker/daemon.json"
# Other areas' objects (nhtest-*, nhlead-*, ..., unnamed containers such as zealous_brown), images rebuilt by the roles, dangling images and anonymous volumes.
DEFAULT_FOREIGN = r"^(?!nhtest-rel-|nhsoak-)(nh|nested-hosts/|molecule|<none>|[0-9a-f]{64}$|[a-z]+_[a-z]+$)"


def foreign_pattern() -> re.Pattern[str] | None:
    """The pattern of names left out of the comparison, or None in strict mode."""
    if os.environ.get("NH_SNAPSHOT_STRICT") == "1":
        return None
    return re.compile(os.environ.get("NH_SNAPSHOT_IGNORE", DEFAULT_FOREIGN))


_CLIENT: Any = None


def _api() -> Any:
    """A low-level Docker API client (the docker SDK), made once."""
    global _CLIENT
    if _CLIENT is None:
        import docker  # the SDK from requirements.txt; four API calls are much cheaper than four CLI runs

        _CLIENT = docker.APIClient(
            base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), version="auto"
        )
    return _CLIENT


def _file_entry(path: str) -> dict[str, Any]:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"missing": True}
    if stat.S_ISLNK(info.st_mode):
        return {"symlink": os.readlink(path)}
    with open(path, "rb") as handle:
        data = handle.read()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mode": oct(stat.S_IMODE(info.st_mode)),
    }


def _files(paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            out[path + "/"] = {"dir": True}
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in dirs:
                    out[os.path.join(root, name) + "/"] = {"dir": True}
                for name in sorted(names):
                    full = os.path.join(root, name)
                    out[full] = _file_entry(full)
        else:
            out[path] = _file_entry(path)
    return out


def _dockerd(pidfile: str = "/var/run/docker.pid") -> dict[str, Any]:
    try:
        with open(pidfile, encoding="ascii") as handle:
            pid = handle.read().strip()
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        # Field 22 of /proc/PID/stat is the start time; after the ")" split it is index 19.
        return {"pid": pid, "starttime": fields[19]}
    except (OSError, IndexError):
        return {"pid": None, "starttime": None}


def take(paths: list[str] | None = None) -> dict[str, Any]:
    """Record the host state (see the module docstring)."""
    files = [DAEMON_JSON, *(paths or [])]
    api = _api()
    containers = {
        c["Names"][0].lstrip("/"): f"{c['Id'][:12]} {c['State']}" for c in api.containers(all=True) if c.get("Names")
    }
    networks = {n["Name"]: n["Id"][:12] for n in api.networks()}
    images = {}
    for image in api.images():
        iid = image["Id"].removeprefix("sha256:")
        tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"] or [f"<none>@{iid}"]
        for ref in tags:
            images[ref] = iid[:12]
    volumes = {v["Name"]: "" for v in api.volumes().get("Volumes") or []}
    return {
        "files": _files(files),
        "dockerd": _dockerd(),
        "containers": containers,
        "volumes": volumes,
        "networks": networks,
        "images": images,
    }


def diff(before: dict[str, Any], after: dict[str, Any], ignore: re.Pattern[str] | None = None) -> list[str]:
    """Readable differences between two snapshots; names matching ``ignore`` are skipped
    (files and the dockerd entry are always compared)."""
    lines: list[str] = []
    if before["dockerd"] != after["dockerd"]:
        lines.append(f"~ dockerd: {before['dockerd']} -> {after['dockerd']}")
    for section in ("files", "containers", "volumes", "networks", "images"):
        old, new = before[section], after[section]
        for name in sorted(set(old) | set(new)):
            if section != "files" and ignore is not None and ignore.search(name):
                continue
            if name not in old:
                lines.append(f"+ {section}: {name} {new[name]}".rstrip())
            elif name not in new:
                lines.append(f"- {section}: {name} {old[name]}".rstrip())
            elif old[name] != new[name]:
                lines.append(f"~ {section}: {name} {old[name]} -> {new[name]}")
    return lines


def assert_unchanged(before: dict[str, Any], after: dict[str, Any], what: str) -> None:
    """Raise AssertionError listing every difference (with the foreign pattern applied)."""
    changes = diff(before, after, foreign_pattern())
    if changes:
        raise AssertionError(f"{what} changed the host:\n  " + "\n  ".join(changes))


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "take":
        json.dump(take(argv[1:]), sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    if len(argv) == 3 and argv[0] == "diff":
        with open(argv[1], encoding="utf-8") as one, open(argv[2], encoding="utf-8") as two:
            changes = diff(json.load(one), json.load(two), foreign_pattern())
        print("\n".join(changes) if changes else "no change")
        return 1 if changes else 0
    print(__doc__.split("Command line::")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


# --- Running a tiny playbook against localhost --------------------------------------------
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def docker(*args: str, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI and capture its output as text."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def include_role(role: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A task that includes ``nested.hosts.<role>`` with ``variables``."""
    return {"name": f"apply {role}", "ansible.builtin.include_role": {"name": f"nested.hosts.{role}"},
            "vars": variables or {}}


def write_play(path: Any, tasks: list[dict[str, Any]]) -> str:
    """Write a one-play playbook running ``tasks`` on every host (no fact gathering); return its path."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return str(path)


def ansible_env(**extra: str) -> dict[str, str]:
    """The environment of an ansible-playbook run here: json callback, no colour or retry files,
    this virtualenv's tools first on PATH; ``extra`` on top."""
    bindir = os.path.dirname(sys.executable)
    return dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
        LANG="C.UTF-8",
        **extra,
    )


def run_playbook(
    playbook: str,
    extra_vars: dict[str, Any] | None = None,
    check: bool = False,
    diff_mode: bool = False,
    timeout: int = 600,
) -> tuple[int, dict[str, Any], str]:
    """Run ``playbook`` on localhost (local connection, this Python) with the json callback.

    Returns (exit code, parsed json output, stderr). pyenv shims break interpreter discovery
    on the project's machines, so the interpreter is always this process's Python.
    """
    bindir = os.path.dirname(sys.executable)
    argv = [
        os.path.join(bindir, "ansible-playbook"),
        "-i",
        "localhost,",
        "-e",
        "ansible_connection=local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    ]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    if diff_mode:
        argv.append("--diff")
    argv.append(playbook)
    proc = subprocess.run(argv, capture_output=True, text=True, env=ansible_env(), timeout=timeout, check=False,
                          cwd=REPO_ROOT)
    try:
        out = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError:
        out = {"plays": [], "stats": {}, "unparsed": proc.stdout}
    return proc.returncode, out, proc.stderr


def run_chain_play(
    tmp: Any, hosts: dict[str, dict[str, Any]], plays: list[dict[str, Any]], pipelining: bool = True
) -> tuple[int, dict[str, Any], str]:
    """Run ``plays`` with the json callback; ``hosts`` form the group ``chain`` (reached through
    nested.hosts.nested, each with its ``ansible_nested_chain`` or other variables), next to a
    ``localhost`` on the controller. Returns (exit code, parsed json output, stderr)."""
    inventory = os.path.join(str(tmp), "inventory.yml")
    common = {"ansible_connection": "nested.hosts.nested", "ansible_python_interpreter": "/usr/bin/python3"}
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(
            {"all": {"hosts": {"localhost": local}, "children": {"chain": {"vars": common, "hosts": hosts}}}}))
    playbook = os.path.join(str(tmp), "play.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(yaml.safe_dump(plays, sort_keys=False))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook]
    env = ansible_env(ANSIBLE_PIPELINING=str(pipelining), ANSIBLE_HOST_KEY_CHECKING="0")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False, cwd=REPO_ROOT)
    try:
        out = json.loads(proc.stdout[proc.stdout.index("{") :])
    except ValueError as exc:
        raise AssertionError(
            f"ansible-playbook printed no json (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        ) from exc
    return proc.returncode, out, proc.stderr


def task_results(out: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(task name, host, result) for every task result of a json-callback run."""
    rows = []
    for play in out.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                rows.append((task["task"]["name"], host, result))
    return rows


def failures(out: dict[str, Any]) -> list[str]:
    """The messages of the failed (not rescued, not ignored) task results."""
    msgs = []
    for name, _host, result in task_results(out):
        if result.get("failed") and not result.get("ignore_errors"):
            msg = result.get("msg", "")
            if not isinstance(msg, str):
                msg = json.dumps(msg)
            msgs.append(f"[{name}] {msg}")
    return msgs


def changed_tasks(out: dict[str, Any]) -> list[str]:
    """Names of the task results that reported a change (loop items counted once per task)."""
    return [name for name, _host, result in task_results(out) if result.get("changed")]
