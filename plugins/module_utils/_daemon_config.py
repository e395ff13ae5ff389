# Copyright (c) nested.hosts contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for Docker's ``daemon.json``: parse, validate, merge, remove, classify, render.

Nothing here touches the file system; the module ``docker_daemon_config`` does the I/O.
Every function returns new data and never mutates its arguments.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any

LIST_MERGE_MODES = ("replace", "append")

# Keys dockerd re-reads on SIGHUP (moby daemon/reload.go and cmd/dockerd reload callback).
# Measured on dockerd 20.10.24: a SIGHUP applies a new "debug" value but not a new "log-level",
# and a key *removed* from the file keeps its running value (dockerd only reloads keys that are
# set), so log-level and every removal are classified as needing a restart.
RELOADABLE_KEYS = frozenset(
    {
        "allow-nondistributable-artifacts",
        "authorization-plugins",
        "debug",
        "default-cgroupns-mode",
        "default-ipc-mode",
        "default-runtime",
        "default-shm-size",
        "features",
        "insecure-registries",
        "labels",
        "live-restore",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "network-diagnostic-port",
        "registry-mirrors",
        "runtimes",
        "shutdown-timeout",
    }
)

# Keys dockerd only reads when it starts. Any key in neither set is treated as restart-only too
# (a restart is always sufficient; a reload of an unknown key might silently do nothing).
RESTART_KEYS = frozenset(
    {
        "bip",
        "bridge",
        "cgroup-parent",
        "containerd",
        "data-root",
        "default-address-pools",
        "default-gateway",
        "default-ulimits",
        "dns",
        "dns-opts",
        "dns-search",
        "exec-opts",
        "exec-root",
        "experimental",
        "fixed-cidr",
        "group",
        "hosts",
        "icc",
        "init",
        "ip",
        "ip-forward",
        "ip-masq",
        "iptables",
        "ip6tables",
        "ipv6",
        "log-driver",
        "log-level",
        "log-opts",
        "mtu",
        "no-new-privileges",
        "oom-score-adjust",
        "pidfile",
        "seccomp-profile",
        "selinux-enabled",
        "storage-driver",
        "storage-opts",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "userland-proxy",
        "userns-remap",
    }
)

# Expected JSON types of well-known keys, used to refuse obvious mistakes before writing.
_BOOL_KEYS = frozenset(
    {
        "debug",
        "experimental",
        "icc",
        "init",
        "ip-forward",
        "ip-masq",
        "iptables",
        "ip6tables",
        "ipv6",
        "live-restore",
        "no-new-privileges",
        "selinux-enabled",
        "tls",
        "tlsverify",
        "userland-proxy",
    }
)
_STRING_KEYS = frozenset(
    {
        "bip",
        "bridge",
        "cgroup-parent",
        "containerd",
        "data-root",
        "default-cgroupns-mode",
        "default-gateway",
        "default-ipc-mode",
        "default-runtime",
        "default-shm-size",
        "exec-root",
        "fixed-cidr",
        "group",
        "ip",
        "log-driver",
        "pidfile",
        "seccomp-profile",
        "storage-driver",
        "tlscacert",
        "tlscert",
        "tlskey",
        "userns-remap",
    }
)
_LIST_KEYS = frozenset(
    {
        "allow-nondistributable-artifacts",
        "authorization-plugins",
        "default-address-pools",
        "dns",
        "dns-opts",
        "dns-search",
        "exec-opts",
        "hosts",
        "insecure-registries",
        "labels",
        "registry-mirrors",
        "storage-opts",
    }
)
_MAPPING_KEYS = frozenset({"default-ulimits", "features", "log-opts", "runtimes"})
_INT_KEYS = frozenset(
    {
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "mtu",
        "network-diagnostic-port",
        "oom-score-adjust",
        "shutdown-timeout",
    }
)
_ABSOLUTE_PATH_KEYS = frozenset({"data-root", "exec-root", "pidfile"})
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


class DaemonConfigError(ValueError):
    """Raised for input that cannot be turned into a valid daemon.json; the message is user-facing."""


@dataclass
class Plan:
    """What applying options/remove to an existing configuration gives."""

    before: dict[str, Any]
    after: dict[str, Any]
    changed_keys: list[str] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    restart_required_keys: list[str] = field(default_factory=list)
    reload_sufficient_keys: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def restart_required(self) -> bool:
        return bool(self.restart_required_keys)

    @property
    def reload_sufficient(self) -> bool:
        return bool(self.reload_sufficient_keys) and not self.restart_required_keys


def parse_config(text: str, source: str = "daemon.json") -> dict[str, Any]:
    """Parse daemon.json text. Empty or whitespace-only text is an empty configuration."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DaemonConfigError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "fix or remove the file by hand, it was left untouched"
        ) from exc
    if not isinstance(data, dict):
        raise DaemonConfigError(
            f"{source} must hold a JSON object at the top level, found {type(data).__name__}; "
            "fix the file by hand, it was left untouched"
        )
    return data


def split_dotted(path: str) -> list[str]:
    """Split ``a.b.c`` into parts; ``\\.`` is a literal dot inside a key (``runtimes.io\\.x``)."""
    if not isinstance(path, str) or not path:
        raise DaemonConfigError(f"remove: {path!r} is not a non-empty dotted key path such as 'log-opts.max-size'")
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        char = path[i]
        if char == "\\" and i + 1 < len(path) and path[i + 1] == ".":
            current.append(".")
            i += 2
            continue
        if char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    if any(not part for part in parts):
        raise DaemonConfigError(
            f"remove: {path!r} has an empty part; write keys as 'a.b' (escape a literal dot as '\\.')"
        )
    return parts


def _type_name(value: Any) -> str:
    return {
        dict: "mapping",
        list: "list",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
    }.get(type(value), type(value).__name__)


def validate_options(options: Any) -> None:
    """Refuse options that dockerd would reject at start, naming the key and the fix."""
    if not isinstance(options, dict):
        raise DaemonConfigError(f"options must be a mapping of daemon.json keys, got a {_type_name(options)}")
    _validate_json_values(options, "options")
    for key, value in options.items():
        where = f"options[{key!r}]"
        if value is None:
            raise DaemonConfigError(f"{where} is null; to delete a key list it under 'remove' instead")
        if key in _BOOL_KEYS and not isinstance(value, bool):
            raise DaemonConfigError(f"{where} must be a boolean (true/false), got a {_type_name(value)}")
        if key in _STRING_KEYS and not isinstance(value, str):
            raise DaemonConfigError(f"{where} must be a string, got a {_type_name(value)}")
        if key in _LIST_KEYS and not isinstance(value, list):
            raise DaemonConfigError(f"{where} must be a list, got a {_type_name(value)}; write it as [{value!r}]")
        if key in _MAPPING_KEYS and not isinstance(value, dict):
            raise DaemonConfigError(f"{where} must be a mapping, got a {_type_name(value)}")
        if key in _INT_KEYS and (isinstance(value, bool) or not isinstance(value, int)):
            raise DaemonConfigError(f"{where} must be an integer, got a {_type_name(value)}")
        if key in _ABSOLUTE_PATH_KEYS and isinstance(value, str) and not value.startswith("/"):
            raise DaemonConfigError(f"{where} must be an absolute path, got {value!r}")
        if key == "log-level" and value not in LOG_LEVELS:
            raise DaemonConfigError(f"{where} must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
        if key == "log-opts":
            bad = sorted(k for k, v in value.items() if not isinstance(v, str))
            if bad:
                raise DaemonConfigError(f"{where} values must be strings (dockerd refuses numbers), quote {bad}")
        if key == "runtimes":
            for name, runtime in value.items():
                if not isinstance(runtime, dict) or not ({"path", "runtimeType"} & set(runtime)):
                    raise DaemonConfigError(
                        f"options['runtimes'][{name!r}] must be a mapping with a 'path' (or 'runtimeType'), "
                        f"e.g. {{'path': '/usr/bin/sysbox-runc'}}"
                    )
        if key == "default-address-pools":
            for pool in value:
                if not isinstance(pool, dict) or "base" not in pool or "size" not in pool:
                    raise DaemonConfigError(
                        f"{where} items must be mappings with 'base' and 'size', e.g. {{'base': '172.80.0.0/16', 'size': 24}}"
                    )


def _validate_json_values(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DaemonConfigError(f"{where} has a non-string key {key!r}; daemon.json keys are strings")
            _validate_json_values(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _validate_json_values(item, f"{where}[{index}]")
    elif isinstance(value, float) and math.isnan(value):  # NaN is not JSON
        raise DaemonConfigError(f"{where} is NaN, which JSON cannot hold")
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise DaemonConfigError(f"{where} has a value of type {type(value).__name__} that JSON cannot hold")


def deep_merge(base: dict[str, Any], options: dict[str, Any], list_merge: str = "replace") -> dict[str, Any]:
    """Merge options into base: mappings recursively, lists replaced or appended (no duplicates)."""
    if list_merge not in LIST_MERGE_MODES:
        raise DaemonConfigError(f"list_merge must be one of {', '.join(LIST_MERGE_MODES)}, got {list_merge!r}")
    result = copy.deepcopy(base)
    for key, value in options.items():
        existing = result.get(key)
        if isinstance(existing, dict) and isinstance(value, dict):
            result[key] = deep_merge(existing, value, list_merge)
        elif list_merge == "append" and isinstance(existing, list) and isinstance(value, list):
            merged = copy.deepcopy(existing)
            for item in value:
                if item not in merged:
                    merged.append(copy.deepcopy(item))
            result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    return result


def remove_keys(config: dict[str, Any], paths: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Remove dotted key paths; absent paths are ignored. Returns (new config, paths removed)."""
    result = copy.deepcopy(config)
    removed: list[str] = []
    for path in paths:
        parts = split_dotted(path)
        node: Any = result
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and parts[-1] in node:
            del node[parts[-1]]
            removed.append(path)
    return result, removed


def changed_top_level_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Top-level keys added, removed or given a different value, sorted."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if k not in before or k not in after or before[k] != after[k])


def classify(
    keys: list[str], before: dict[str, Any] | None = None, after: dict[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """Split changed top-level keys into (restart_required_keys, reload_sufficient_keys).

    A reloadable key counts as restart-only when it was removed (present in before, absent in
    after): dockerd's reload leaves the running value of an unset key in place.
    """
    before = before or {}
    after = after or {}

    def reloadable(key: str) -> bool:
        return key in RELOADABLE_KEYS and not (key in before and key not in after)

    restart = sorted(k for k in keys if not reloadable(k))
    reload_ = sorted(k for k in keys if reloadable(k))
    return restart, reload_


def _check_conflicts(options: dict[str, Any], remove: list[str]) -> None:
    for path in remove:
        parts = split_dotted(path)
        node: Any = options
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
            if depth == len(parts) - 1:
                raise DaemonConfigError(
                    f"remove lists {path!r} which options also sets; drop it from one of 'options' or 'remove'"
                )


def plan(
    current_text: str,
    options: Any,
    remove: list[str] | None = None,
    list_merge: str = "replace",
    source: str = "daemon.json",
) -> Plan:
    """Compute the new configuration from the current file text, options and remove paths."""
    remove = list(remove or [])
    validate_options(options)
    if list_merge not in LIST_MERGE_MODES:
        raise DaemonConfigError(f"list_merge must be one of {', '.join(LIST_MERGE_MODES)}, got {list_merge!r}")
    for path in remove:
        split_dotted(path)
    _check_conflicts(options, remove)
    before = parse_config(current_text, source)
    without, removed = remove_keys(before, remove)
    after = deep_merge(without, options, list_merge)
    changed_keys = changed_top_level_keys(before, after)
    restart_keys, reload_keys = classify(changed_keys, before, after)
    return Plan(
        before=before,
        after=after,
        changed_keys=changed_keys,
        removed_keys=removed,
        restart_required_keys=restart_keys,
        reload_sufficient_keys=reload_keys,
    )


def render(config: dict[str, Any]) -> str:
    """Render daemon.json the way people write it: two-space indent, key order kept, final newline."""
    return json.dumps(config, indent=2, ensure_ascii=False) + "\n"
