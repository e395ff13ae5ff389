# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: nested
short_description: Every nested container level this collection created, on one or many Docker hosts
version_added: 0.1.0
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
description:
  - Lists the containers of one or more Docker endpoints (the local socket, a host reached over SSH,
    C(ssh://) or C(tcp://) with TLS) that carry this collection's labels (C(io.nested-hosts.role) set by the
    P(nested.hosts.node#role), P(nested.hosts.dind#role) roles, C(container) for other levels), and,
    recursively through the ones that run a Docker daemon, the containers inside them, down to O(max_depth).
  - Every level becomes a host reached through the chained connection
    P(nested.hosts.nested#connection) (C(docker exec) through each parent), with the variables
    C(ansible_nested_chain), C(ansible_nested_first_hop) and so on, plus C(nested_hosts_depth),
    C(nested_hosts_parent), C(nested_hosts_method), C(nested_hosts_labels), C(nested_hosts_image),
    C(nested_hosts_container_id) and C(nested_hosts_endpoint).
  - Hosts join the groups C(nested_hosts_method_<method>), C(nested_hosts_depth_<depth>) and
    C(nested_hosts_parent_<parent>) (characters other than letters, digits and C(_) become C(_)).
  - A host is named after its container. When two levels hold the same container name (two endpoints each
    with a C(node-1)) or a container is named like a named endpoint, each of them is named
    C(<parent's inventory name>/<container name>) instead, for example C(hostb/node-1).
  - Levels are listed concurrently (O(workers)), across all endpoints. A level whose Docker daemon does not answer is still added, without
    the levels below it, and a warning names the chain that failed.
  - A container reached through more than one endpoint (one daemon listed by two addresses, or a dind container's
    C(tcp://) port listed next to the host that runs it) is one host, reached through the shortest chain; a warning
    names the endpoints that overlap.
  - Uses a YAML configuration file whose name ends with C(nested.yml) or C(nested.yaml).
notes:
  - Discovery runs the C(docker) CLI (C(docker ps), C(docker inspect), C(docker exec)) on the controller, or
    on the SSH host of an endpoint; argv lists only, with C(LANG=C).
  - A C(dind) container in C(socket) mode shares its host's daemon; it is added (method C(socket)) but not
    descended into. Neither is any container with a Docker socket bind-mounted in.
  - The Docker host of an endpoint with O(endpoints[].name) is added at depth 0 (method C(endpoint)) with
    C(ansible_connection=local) for a local socket, the SSH variables for an SSH first hop or an C(ssh://)
    endpoint, and only C(ansible_host) for a C(tcp://) endpoint.
options:
  plugin:
    description: The name of this plugin; always V(nested.hosts.nested).
    type: str
    required: true
    choices: [nested.hosts.nested]
  endpoints:
    description:
      - The Docker hosts to start from, each a first hop of the P(nested.hosts.nested#connection) connection.
      - The default is the local C(docker) CLI with its own default endpoint, without a depth-0 host.
    type: list
    elements: dict
    default: [{first_hop: local}]
    suboptions:
      name:
        description:
          - Inventory name of the Docker host itself (for example V(localhost) or the SSH host's inventory name).
            When given, that host is added at depth 0 and is the C(nested_hosts_parent) of the depth-1 levels.
          - Without it, the parent of the depth-1 levels is the endpoint's C(docker_host) (V(local) for the local
            CLI's default), prefixed with C(ssh://user@host:port) for an SSH first hop. Two endpoints must not end up
            with the same name.
        type: str
      first_hop:
        description: Where the outermost C(docker) command runs, V(local) (the controller) or V(ssh).
        type: str
        choices: [local, ssh]
        default: local
      docker_host:
        description: The daemon the outermost C(docker) talks to, V(unix:///path), V(tcp://host:port) or V(ssh://user@host).
        type: str
      tls_ca_cert:
        description: CA certificate for a V(tcp://) O(endpoints[].docker_host); give all three TLS files or none.
        type: path
      tls_client_cert:
        description: Client certificate for a V(tcp://) O(endpoints[].docker_host).
        type: path
      tls_client_key:
        description: Client key for a V(tcp://) O(endpoints[].docker_host).
        type: path
      ssh_host:
        description: Host to ssh to; required with O(endpoints[].first_hop=ssh).
        type: str
      ssh_port:
        description: SSH port of O(endpoints[].ssh_host).
        type: int
      ssh_user:
        description: SSH user.
        type: str
      ssh_private_key_file:
        description: SSH private key file.
        type: path
      ssh_common_args:
        description: Extra arguments for C(ssh), one string split like a shell would.
        type: str
      docker_cli:
        description: The C(docker) executable at the first hop.
        type: str
        default: docker
  max_depth:
    description:
      - The deepest level to list; the endpoint's own containers are depth 1.
      - Containers at O(max_depth) are added, but the containers inside them are not listed.
    type: int
    default: 3
  roles:
    description:
      - Values of the C(io.nested-hosts.role) label that make a container a level.
    type: list
    elements: str
    default: [node, dind, container]
  label_selector:
    description:
      - Labels a container must carry as well, as a mapping of label to value; a null value only asks that
        the label is present.
    type: dict
    default: {}
  include_unlabelled:
    description:
      - Also add running containers without an C(io.nested-hosts.role) label (method C(container)), and list
        the containers inside them when their C(docker) answers.
    type: bool
    default: false
  timeout:
    description: Seconds each C(docker) command may take before its level counts as not answering.
    type: int
    default: 60
  workers:
    description:
      - How many levels are listed at the same time, across all endpoints (one thread each). A finished listing
        queues the levels below it, so many Docker hosts, and many nodes on one host, are listed concurrently.
      - V(1) lists one level after the other.
    type: int
    default: 8
"""

EXAMPLES = r"""
---
# demo.nested.yml: the demo's levels on this machine, localhost at depth 0
plugin: nested.hosts.nested
endpoints:
  - name: localhost
max_depth: 3

---
# A fleet: two Docker hosts over SSH and one daemon over TLS, grouped by image
plugin: nested.hosts.nested
endpoints:
  - name: host1
    first_hop: ssh
    ssh_host: host1.example.com
    ssh_user: root
  - name: host2
    first_hop: ssh
    ssh_host: host2.example.com
    ssh_user: root
  - name: builder
    docker_host: tcp://builder.example.com:2376
    tls_ca_cert: /etc/nested-hosts/ca.pem
    tls_client_cert: /etc/nested-hosts/cert.pem
    tls_client_key: /etc/nested-hosts/key.pem
keyed_groups:
  - key: nested_hosts_image
    prefix: image
compose:
  ansible_python_interpreter: "'/usr/bin/python3'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /tmp/nested-hosts-inventory
"""

import os  # noqa: E402
import shlex  # noqa: E402
import subprocess  # noqa: E402
import typing as t  # noqa: E402
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # noqa: E402

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.nested.hosts.plugins.module_utils import _chain, _discovery  # noqa: E402

display = Display()

ENDPOINT_KEYS = ("name", *_chain.FIRST_HOP_KEYS)


class Settings(t.NamedTuple):
    endpoints: list[_discovery.Endpoint]
    max_depth: int
    selector: _discovery.Selector
    timeout: int
    workers: int


def subprocess_runner(timeout: int) -> _discovery.Runner:
    """A runner that runs each command through the chain with ``subprocess`` (argv only, LANG=C)."""
    env = dict(os.environ, LANG="C", LC_ALL="C")

    def run(first_hop: _chain.FirstHop, chain: t.Sequence[str], command: t.Sequence[str]) -> _discovery.RunResult:
        argv = _chain.hop_argv(first_hop, chain, command, interactive=False)
        try:
            proc = subprocess.run(
                argv, capture_output=True, stdin=subprocess.DEVNULL, env=env, timeout=timeout, check=False,
                encoding="utf-8", errors="replace",
            )
        except FileNotFoundError:
            return _discovery.RunResult(127, "", f"{argv[0]}: executable not found on the controller")
        except subprocess.TimeoutExpired:
            return _discovery.RunResult(124, "", f"no answer within {timeout} s (timeout) from: {shlex.join(argv)}")
        display.vvvv(f"nested.hosts.nested: {shlex.join(argv)} -> rc {proc.returncode}")
        return _discovery.RunResult(proc.returncode, proc.stdout, proc.stderr)

    return run


# How to write each option, for the messages of values Ansible's option parsing rejects.
OPTION_FIXES = {
    "endpoints": "a list of mappings, e.g. [{name: localhost}]",
    "max_depth": "a whole number of at least 1, e.g. 3",
    "roles": "a list of io.nested-hosts.role values, e.g. [node, dind, container]",
    "label_selector": "a mapping of label to value, e.g. {io.nested-hosts.node: node-1}",
    "include_unlabelled": "true or false",
    "timeout": "a whole number of seconds, e.g. 60",
    "workers": "a whole number of at least 1, e.g. 8",
}


def option_fix(message: str) -> str:
    """'; set X to ...' for a message of Ansible's option parsing that names one of this plugin's options."""
    for option, fix in OPTION_FIXES.items():
        if f"'{option}'" in message:
            return f"; set {option} to {fix}."
    return ""


def read_settings(options: t.Mapping[str, t.Any]) -> Settings:
    """Validate the plugin's options; raises AnsibleParserError naming the option and the fix."""
    endpoints_opt = options.get("endpoints")
    if endpoints_opt is None:
        endpoints_opt = [{"first_hop": "local"}]
    if not isinstance(endpoints_opt, list) or not endpoints_opt:
        raise AnsibleParserError("endpoints must be a non-empty list of Docker endpoints, e.g. [{name: localhost}].")
    endpoints = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(endpoints_opt):
        where = f"endpoints[{index}]"
        if not isinstance(entry, dict):
            raise AnsibleParserError(f"{where} must be a mapping of {', '.join(ENDPOINT_KEYS)}; got {entry!r}.")
        unknown = sorted(str(k) for k in entry if k not in ENDPOINT_KEYS)
        if unknown:
            raise AnsibleParserError(
                f"{where} has unknown key(s) {', '.join(unknown)}; use only {', '.join(ENDPOINT_KEYS)}."
            )
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise AnsibleParserError(f"{where}.name={name!r} must be a non-empty string (an inventory host name).")
        try:
            first_hop = _chain.make_first_hop(entry, prefix=f"{where}.")
        except _chain.ChainError as err:
            raise AnsibleParserError(str(err)) from None
        endpoint = _discovery.Endpoint(index=index, first_hop=first_hop, name=name)
        if endpoint.label in seen:
            raise AnsibleParserError(
                f"{where} and endpoints[{seen[endpoint.label]}] are both named {endpoint.label!r}; "
                f"give each endpoint a distinct name (endpoints[{index}].name)."
            )
        seen[endpoint.label] = index
        endpoints.append(endpoint)

    def positive(option: str, fix: str) -> int:
        value = options.get(option)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AnsibleParserError(f"{option}={value!r} must be a whole number of at least 1; {fix}.")
        return value

    max_depth = positive("max_depth", "1 lists only the endpoints' own containers")
    timeout = positive("timeout", "give the seconds each docker command may take")
    workers = positive("workers", "give how many endpoints to discover at once")
    roles = options.get("roles")
    if roles is None:
        roles = list(_discovery.DEFAULT_ROLES)
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) and r for r in roles):
        raise AnsibleParserError(
            f"roles={roles!r} must be a non-empty list of io.nested-hosts.role values, e.g. [node, dind, container]."
        )
    selector_opt = options.get("label_selector") or {}
    if not isinstance(selector_opt, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in selector_opt.items()
    ):
        raise AnsibleParserError(
            f"label_selector={selector_opt!r} must map label names to a value (or null for 'present'), "
            "e.g. {io.nested-hosts.node: node-1}."
        )
    labels = tuple(sorted((k, None if v is None else str(v)) for k, v in selector_opt.items()))
    selector = _discovery.Selector(
        roles=tuple(roles), labels=labels, include_unlabelled=bool(options.get("include_unlabelled"))
    )
    return Settings(endpoints, max_depth, selector, timeout, workers)


def discover_all(settings: Settings, runner: _discovery.Runner) -> list[_discovery.EndpointResult]:
    """Discover every endpoint; results in the order of the endpoints.

    With more than one worker, every level to list (on any endpoint) is a task of one thread pool:
    a finished listing submits the levels below it, so many hosts, and many nodes on one host, are
    listed at the same time. The result is the same as listing one level after the other.
    """
    if settings.workers == 1:
        return [_discovery.discover(e, runner, settings.max_depth, settings.selector) for e in settings.endpoints]
    listings: dict[int, list[_discovery.Listing]] = {e.index: [] for e in settings.endpoints}

    def step(task: _discovery.Task) -> _discovery.Listing:
        return _discovery.list_level(task, runner, settings.max_depth, settings.selector)

    with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="nested-hosts-inventory") as pool:
        pending = {pool.submit(step, _discovery.Task(e)) for e in settings.endpoints}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                listing = future.result()
                listings[listing.task.endpoint.index].append(listing)
                pending |= {pool.submit(step, child) for child in listing.children}
    return [_discovery.merge(e, listings[e.index]) for e in settings.endpoints]


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Nested container levels of one or more Docker endpoints."""

    NAME = "nested.hosts.nested"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("nested.yml", "nested.yaml"))

    def make_runner(self, timeout: int) -> _discovery.Runner:
        """The runner discovery uses; unit tests replace it with one answering from recorded output."""
        return subprocess_runner(timeout)

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        try:
            self._read_config_data(path)
        except AnsibleParserError as err:
            if "Incorrect plugin name" in str(err):
                raise AnsibleParserError(f"{path}: {err}; set plugin: {self.NAME}.") from None
            raise
        except AnsibleError as err:
            raise AnsibleParserError(f"{path}: {err}{option_fix(str(err))}") from None
        settings = read_settings({name: self.get_option(name) for name in (
            "endpoints", "max_depth", "roles", "label_selector", "include_unlabelled", "timeout", "workers")})

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        hosts = None
        if use_cache and cache:
            try:
                hosts = [_discovery.Host(*entry) for entry in self._cache[cache_key]]
            except KeyError:
                hosts = None
        if hosts is None:
            results = discover_all(settings, self.make_runner(settings.timeout))
            warnings = [warning for result in results for warning in result.warnings]
            try:
                hosts = _discovery.build_hosts(results, warnings)
            except _discovery.DiscoveryError as err:
                raise AnsibleParserError(f"{path}: {err}") from None
            for warning in warnings:
                display.warning(f"nested.hosts.nested: {warning}")
            if use_cache:
                self._cache[cache_key] = [list(host) for host in hosts]
        self._populate(hosts)

    def _populate(self, hosts: t.Sequence[_discovery.Host]) -> None:
        strict = self.get_option("strict")
        for host in hosts:
            self.inventory.add_host(host.name)
            for key, value in host.variables.items():
                self.inventory.set_variable(host.name, key, value)
            for group in host.groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, host.name)
            variables = self.inventory.get_host(host.name).get_vars()
            self._set_composite_vars(self.get_option("compose"), variables, host.name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, host.name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, host.name, strict=strict)
