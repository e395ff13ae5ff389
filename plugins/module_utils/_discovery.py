# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure discovery of nested container levels for the ``nested.hosts.nested`` inventory plugin.

Discovery walks one Docker endpoint at a time::

    endpoint daemon                      docker ps --all (through the chain [])
      -> keep running, selected levels   docker inspect <running ids>
         -> for each level that runs a daemon: the same through the chain [level]
            -> ... down to max_depth

Every command goes through a *runner*, ``runner(first_hop, chain, argv) -> RunResult``, which
runs ``argv`` in the innermost container of ``chain`` (``_chain.hop_argv`` builds the real argv).
The inventory plugin passes a subprocess runner; unit tests pass one that answers from recorded
``docker ps`` / ``docker inspect`` output. Nothing here runs a process.

The rest turns what was found into inventory hosts: names (container names, disambiguated when
two levels share one), groups, and host variables (``_chain.host_vars`` plus ``nested_hosts_*``).
"""

from __future__ import annotations

import json
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.nested.hosts.plugins.module_utils import _chain

LABEL_PREFIX = "io.nested-hosts."
LABEL_ROLE = LABEL_PREFIX + "role"
LABEL_MODE = LABEL_PREFIX + "mode"
DEFAULT_ROLES = ("node", "dind", "container")
METHODS = ("node", "dind", "socket", "container")
ENDPOINT_METHOD = "endpoint"
# A docker ps without sizes (``{{json .}}`` would otherwise make the daemon compute every container's size).
PS_ARGV = ("docker", "ps", "--all", "--no-trunc", "--size=false", "--format", "{{json .}}")
INSPECT_ARGV = ("docker", "inspect", "--type", "container")
INSPECT_BATCH = 100  # container IDs per docker inspect (64 characters each, on one command line)
# Where a container that shares an outer daemon has that daemon's socket.
_SOCKET_PATHS = ("/var/run/docker.sock", "/run/docker.sock")
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


class DiscoveryError(ValueError):
    """Recorded or live output that cannot be read, or options that cannot be used."""


class RunResult(t.NamedTuple):
    rc: int
    stdout: str
    stderr: str


Runner = t.Callable[[_chain.FirstHop, t.Sequence[str], t.Sequence[str]], RunResult]


@dataclass(frozen=True)
class Selector:
    """Which containers count as levels."""

    roles: tuple[str, ...] = DEFAULT_ROLES
    labels: tuple[tuple[str, str | None], ...] = ()  # (key, value) pairs; value None: the key is present
    include_unlabelled: bool = False

    def keeps(self, labels: t.Mapping[str, str]) -> bool:
        role = labels.get(LABEL_ROLE)
        if role is None:
            if not self.include_unlabelled:
                return False
        elif role not in self.roles:
            return False
        return all(key in labels and (value is None or labels[key] == value) for key, value in self.labels)


@dataclass(frozen=True)
class Endpoint:
    """One first hop: the Docker host whose daemon discovery starts from."""

    index: int
    first_hop: _chain.FirstHop
    name: str | None = None  # inventory host of the Docker host itself (depth 0), when given

    @property
    def label(self) -> str:
        """The endpoint's name, or one made from where its daemon is (parent of its depth-1 levels)."""
        return self.name or endpoint_label(self.first_hop)


@dataclass
class Level:
    """A discovered container: where it runs (endpoint, chain) and what its labels say."""

    endpoint: int
    chain: tuple[str, ...]  # outermost first; the last item is this container
    container_id: str
    image: str
    labels: dict[str, str]
    method: str

    @property
    def name(self) -> str:
        return self.chain[-1]

    @property
    def depth(self) -> int:
        return len(self.chain)


@dataclass
class EndpointResult:
    endpoint: Endpoint
    levels: list[Level] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    commands: int = 0


def endpoint_label(first_hop: _chain.FirstHop) -> str:
    """A name for an endpoint given no ``name``: its docker_host, prefixed by the ssh host when there is one."""
    where = first_hop.docker_host or ("local" if first_hop.kind == "local" else "")
    if first_hop.kind == "ssh":
        user = f"{first_hop.ssh_user}@" if first_hop.ssh_user else ""
        port = f":{first_hop.ssh_port}" if first_hop.ssh_port else ""
        head = f"ssh://{user}{first_hop.ssh_host}{port}"
        return f"{head} {where}" if where else head
    return where


# --------------------------------------------------------------------------- parsing


def parse_ps(text: str) -> list[dict[str, t.Any]]:
    """Rows of ``docker ps --format '{{json .}}'`` (one JSON object a line)."""
    rows = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            raise DiscoveryError(f"docker ps line {number} is not JSON ({err}): {line[:120]!r}") from None
        if not isinstance(row, dict) or not row.get("ID"):
            raise DiscoveryError(f"docker ps line {number} has no container ID: {line[:120]!r}")
        rows.append(row)
    return rows


def running_ids(rows: t.Sequence[t.Mapping[str, t.Any]]) -> list[str]:
    """IDs of the running containers of a ``docker ps --all`` listing, in listing order."""
    out = []
    for row in rows:
        state = row.get("State")
        running = state == "running" if state else str(row.get("Status", "")).startswith("Up")
        if running:
            out.append(str(row["ID"]))
    return out


def parse_inspect(text: str) -> list[dict[str, t.Any]]:
    """The objects of ``docker inspect`` output (a JSON array)."""
    try:
        data = json.loads(text or "[]")
    except ValueError as err:
        raise DiscoveryError(f"docker inspect output is not JSON ({err}): {(text or '')[:120]!r}") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise DiscoveryError("docker inspect output is not a list of objects")
    return data


def method_of(labels: t.Mapping[str, str]) -> str:
    """node, dind, socket or container, from the collection's labels."""
    role = labels.get(LABEL_ROLE)
    if role == "node":
        return "node"
    if role == "dind":
        return "socket" if labels.get(LABEL_MODE) == "socket" else "dind"
    return "container"


def shares_outer_socket(inspect: t.Mapping[str, t.Any]) -> bool:
    """True when the container has a Docker socket bind-mounted in: its daemon is an outer one."""
    for mount in inspect.get("Mounts") or []:
        if mount.get("Type") == "bind" and mount.get("Destination") in _SOCKET_PATHS:
            return True
    return False


def container_facts(inspect: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The parts of one ``docker inspect`` object discovery uses."""
    config = inspect.get("Config") or {}
    state = inspect.get("State") or {}
    return {
        "id": str(inspect.get("Id") or ""),
        "name": str(inspect.get("Name") or "").lstrip("/"),
        "running": bool(state.get("Running")) and not state.get("Paused") and not state.get("Restarting"),
        "image": str(config.get("Image") or ""),
        "labels": {str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        "shares_outer_socket": shares_outer_socket(inspect),
    }


def daemon_expected(method: str, facts: t.Mapping[str, t.Any]) -> bool | None:
    """Whether a level runs a daemon of its own: True (node, dind: a silent one is warned about),
    None (any other container: asked quietly), False (shares an outer daemon's socket: not listed)."""
    if method == "socket" or facts.get("shares_outer_socket"):
        return False
    if method in ("node", "dind"):
        return True
    return None


# --------------------------------------------------------------------------- walking


@dataclass(frozen=True)
class Task:
    """One level to list: the daemon reached through ``chain`` from ``endpoint``."""

    endpoint: Endpoint
    chain: tuple[str, ...] = ()
    expected: bool | None = True  # True: warn when no daemon answers; None: asked quietly
    ancestors: frozenset[str] = frozenset()  # IDs of the levels on the way (a listing holding one is an outer daemon)


@dataclass
class Listing:
    """What listing one level found: its selected containers and the levels to list next."""

    task: Task
    levels: list[Level] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    children: list[Task] = field(default_factory=list)
    commands: int = 0


def discover(endpoint: Endpoint, runner: Runner, max_depth: int, selector: Selector) -> EndpointResult:
    """Every selected level below ``endpoint`` down to ``max_depth``, one listing after the other.

    The inventory plugin runs the same :func:`list_level` steps on a thread pool instead
    (:func:`merge` gives the same result in either order).
    """
    listings = []
    todo = [Task(endpoint)]
    while todo:
        listing = list_level(todo.pop(), runner, max_depth, selector)
        listings.append(listing)
        todo.extend(listing.children)
    return merge(endpoint, listings)


def merge(endpoint: Endpoint, listings: t.Iterable[Listing]) -> EndpointResult:
    """One endpoint's result from its listings, whatever order they finished in: levels and
    warnings ordered by chain (outermost first, siblings by name)."""
    result = EndpointResult(endpoint=endpoint)
    ordered = sorted(listings, key=lambda lst: lst.task.chain)
    for listing in ordered:
        result.levels.extend(listing.levels)
        result.warnings.extend(listing.warnings)
        result.commands += listing.commands
    result.levels.sort(key=lambda lv: lv.chain)
    return result


def list_level(task: Task, runner: Runner, max_depth: int, selector: Selector) -> Listing:
    """List the daemon of one level: ``docker ps``, then ``docker inspect`` of its running containers."""
    out = Listing(task=task)
    first_hop = task.endpoint.first_hop
    chain = task.chain
    where = _chain.describe(first_hop, chain)
    outcome = runner(first_hop, chain, PS_ARGV)
    out.commands += 1
    if outcome.rc != 0:
        if task.expected:
            # docker exec prints the runtime's "executable file not found" on stdout (CLI 28), not stderr.
            reason = _chain.hop_failure(first_hop, chain, outcome.rc, f"{outcome.stderr}\n{outcome.stdout}")
            reason = reason or f"{where}: {_last_line(outcome)} (exit {outcome.rc})"
            out.warnings.append(f"levels below {where} are not listed: {reason}")
        return out
    try:
        rows = parse_ps(outcome.stdout)
    except DiscoveryError as err:
        out.warnings.append(f"{where}: {err}; levels below it are not listed")
        return out
    if task.ancestors.intersection(str(row["ID"]) for row in rows):
        out.warnings.append(
            f"{where}: its docker CLI talks to an outer daemon (its listing holds this level or one above it); "
            "levels below it are not listed"
        )
        return out
    ids = running_ids(rows)
    objects = []
    for start in range(0, len(ids), INSPECT_BATCH):
        outcome = runner(first_hop, chain, [*INSPECT_ARGV, *ids[start:start + INSPECT_BATCH]])
        out.commands += 1
        try:
            objects += parse_inspect(outcome.stdout)
        except DiscoveryError as err:
            out.warnings.append(f"{where}: {err}; levels below it are not listed")
            return out
        if outcome.rc != 0:
            # A container removed between ps and inspect: the rest is still good.
            out.warnings.append(f"{where}: docker inspect: {_last_line(outcome)}")
    found = []
    for obj in objects:
        facts = container_facts(obj)
        if facts["running"] and facts["name"] and selector.keeps(facts["labels"]):
            found.append(facts)
    for facts in sorted(found, key=lambda f: f["name"]):
        method = method_of(facts["labels"])
        level = Level(
            endpoint=task.endpoint.index,
            chain=(*chain, facts["name"]),
            container_id=facts["id"],
            image=facts["image"],
            labels=facts["labels"],
            method=method,
        )
        out.levels.append(level)
        inner = daemon_expected(method, facts)
        if level.depth < max_depth and inner is not False:
            out.children.append(Task(task.endpoint, level.chain, inner, task.ancestors | {facts["id"]}))
    return out


def _last_line(outcome: RunResult) -> str:
    text = (outcome.stderr.strip() or outcome.stdout or "").strip()
    return text.splitlines()[-1] if text else f"exit {outcome.rc}, no message"


# --------------------------------------------------------------------------- inventory hosts


class Host(t.NamedTuple):
    name: str
    variables: dict[str, t.Any]
    groups: list[str]


def safe_group(name: str) -> str:
    """A group name Ansible accepts without warning: anything but letters, digits and _ becomes _."""
    return _GROUP_UNSAFE.sub("_", name)


Key = t.Tuple[int, t.Tuple[str, ...]]  # (endpoint index, chain) of a level


def drop_duplicates(
    levels: t.Sequence[Level], labels: t.Mapping[int, str] | None = None
) -> tuple[list[Level], dict[Key, Key], list[str]]:
    """One host per container, however many endpoints reach it.

    The same container shows up twice when two endpoints reach one daemon (two addresses of a host,
    or a dind container's TLS port listed as an endpoint next to the host running it); container IDs
    are unique, so equal IDs are one container. The copy with the shortest chain (then the first
    endpoint) is kept; the others map to it. One warning per pair of endpoints that overlap, naming
    the outermost duplicated levels (``labels`` names the endpoints).
    """
    first: dict[str, Level] = {}
    kept: list[Level] = []
    alias: dict[Key, Key] = {}
    overlaps: dict[tuple[int, int], list[str]] = {}
    for level in sorted(levels, key=lambda lv: (lv.depth, lv.endpoint, lv.chain)):
        other = first.get(level.container_id) if level.container_id else None
        if other is None:
            if level.container_id:
                first[level.container_id] = level
            kept.append(level)
            continue
        alias[(level.endpoint, level.chain)] = (other.endpoint, other.chain)
        if (level.endpoint, level.chain[:-1]) not in alias:
            overlaps.setdefault((level.endpoint, other.endpoint), []).append(" > ".join(level.chain))
    names = labels or {}
    warnings = [
        f"endpoint {names.get(dropped, dropped)} reaches containers that endpoint {names.get(kept_at, kept_at)} "
        f"reaches too (the same container IDs): {', '.join(chains)}; each is added once, through "
        f"{names.get(kept_at, kept_at)}, with the levels below it"
        for (dropped, kept_at), chains in overlaps.items()
    ]
    return kept, alias, warnings


def _resolve(alias: t.Mapping[Key, Key], key: Key) -> Key:
    while key in alias:
        key = alias[key]
    return key


def assign_names(
    endpoints: t.Sequence[Endpoint], levels: t.Sequence[Level], alias: t.Mapping[Key, Key] | None = None
) -> dict[Key, str]:
    """Inventory name of every level, keyed by (endpoint index, chain).

    A level is named after its container. When that name is held by more than one level (in
    different daemons, e.g. two endpoints each with a ``node-1``) or by a named endpoint, each of
    those levels is named ``<parent's inventory name>/<container name>`` instead; the parent of a
    depth-1 level is its endpoint (its ``name``, else the label made from its first hop). Container
    names never hold ``/`` and are unique per daemon, so the result is unique and does not depend on
    the order in which endpoints answered.
    """
    counts: dict[str, int] = {}
    for endpoint in endpoints:
        if endpoint.name:
            counts[endpoint.name] = counts.get(endpoint.name, 0) + 1
    for level in levels:
        counts[level.name] = counts.get(level.name, 0) + 1
    by_index = {endpoint.index: endpoint for endpoint in endpoints}
    names: dict[Key, str] = {}
    for level in sorted(levels, key=lambda lv: (lv.depth, lv.endpoint, lv.chain)):  # parents first
        if counts[level.name] == 1:
            names[(level.endpoint, level.chain)] = level.name
            continue
        names[(level.endpoint, level.chain)] = f"{parent_name(level, by_index, names, alias or {})}/{level.name}"
    taken = [e.name for e in endpoints if e.name] + list(names.values())
    duplicates = sorted({n for n in taken if taken.count(n) > 1})
    if duplicates:
        raise DiscoveryError(
            f"more than one level would be named {', '.join(duplicates)}; give the endpoints distinct names"
        )
    return names


def parent_name(level: Level, by_index: t.Mapping[int, Endpoint], names: t.Mapping[Key, str],
                alias: t.Mapping[Key, Key]) -> str:
    """Inventory name of the level a level runs in (its endpoint's name or label at depth 1)."""
    if level.depth == 1:
        return by_index[level.endpoint].label
    return names[_resolve(alias, (level.endpoint, level.chain[:-1]))]


def endpoint_vars(endpoint: Endpoint) -> dict[str, t.Any]:
    """Host variables of the Docker host itself (depth 0): how Ansible reaches that machine."""
    hop = endpoint.first_hop
    out: dict[str, t.Any] = {}
    ssh = re.match(r"^ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+)(?::(?P<port>\d+))?", hop.docker_host or "")
    tcp = re.match(r"^tcp://(?P<host>[^:/]+)", hop.docker_host or "")
    if hop.kind == "ssh":
        out.update(ansible_connection="ssh", ansible_host=hop.ssh_host)
        if hop.ssh_port:
            out["ansible_port"] = hop.ssh_port
        if hop.ssh_user:
            out["ansible_user"] = hop.ssh_user
        if hop.ssh_private_key_file:
            out["ansible_ssh_private_key_file"] = hop.ssh_private_key_file
        if hop.ssh_common_args:
            out["ansible_ssh_common_args"] = " ".join(hop.ssh_common_args)
    elif ssh:
        out.update(ansible_connection="ssh", ansible_host=ssh.group("host"))
        if ssh.group("port"):
            out["ansible_port"] = int(ssh.group("port"))
        if ssh.group("user"):
            out["ansible_user"] = ssh.group("user")
    elif tcp:
        out["ansible_host"] = tcp.group("host")
    else:
        out["ansible_connection"] = "local"
    out.update(
        nested_hosts_depth=0,
        nested_hosts_method=ENDPOINT_METHOD,
        nested_hosts_endpoint=endpoint.label,
    )
    out.update(_chain.first_hop_vars(hop))
    return out


def build_hosts(results: t.Sequence[EndpointResult], warnings: list[str] | None = None) -> list[Host]:
    """Inventory hosts of a discovery: named endpoints first (in order), then every level by endpoint and depth.

    A container reached through more than one endpoint is one host (see :func:`drop_duplicates`); the
    warnings about it are appended to ``warnings``.
    """
    endpoints = [r.endpoint for r in results]
    levels, alias, duplicate_warnings = drop_duplicates(
        [level for r in results for level in r.levels], {e.index: e.label for e in endpoints}
    )
    if warnings is not None:
        warnings.extend(duplicate_warnings)
    names = assign_names(endpoints, levels, alias)
    by_index = {e.index: e for e in endpoints}
    hosts = []
    for endpoint in endpoints:
        if endpoint.name:
            groups = [f"nested_hosts_method_{ENDPOINT_METHOD}", "nested_hosts_depth_0"]
            hosts.append(Host(endpoint.name, endpoint_vars(endpoint), groups))
    for level in sorted(levels, key=lambda lv: (lv.endpoint, lv.depth, lv.chain)):
        endpoint = by_index[level.endpoint]
        parent = parent_name(level, by_index, names, alias)
        variables = _chain.host_vars(endpoint.first_hop, level.chain)
        variables.update(
            nested_hosts_depth=level.depth,
            nested_hosts_parent=parent,
            nested_hosts_method=level.method,
            nested_hosts_labels=dict(level.labels),
            nested_hosts_image=level.image,
            nested_hosts_container_id=level.container_id,
            nested_hosts_endpoint=endpoint.label,
        )
        groups = [
            f"nested_hosts_method_{safe_group(level.method)}",
            f"nested_hosts_depth_{level.depth}",
            f"nested_hosts_parent_{safe_group(parent)}",
        ]
        hosts.append(Host(names[(level.endpoint, level.chain)], variables, groups))
    return hosts
