# SPDX-License-Identifier: GPL-3.0-or-later
"""Table-driven and property tests for plugins/module_utils/_daemon_config.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible_collections.nested.hosts.plugins.module_utils._daemon_config import (
    DaemonConfigError,
    classify,
    deep_merge,
    parse_config,
    plan,
    remove_keys,
    render,
    split_dotted,
)
from hypothesis import given, settings
from hypothesis import strategies as st

NVIDIA = {"nvidia": {"path": "nvidia-container-runtime", "runtimeArgs": []}}
SYSBOX = {"sysbox-runc": {"path": "/usr/bin/sysbox-runc"}}

# (id, existing file text, options, remove, list_merge, expected config, restart keys, reload keys)
MERGE_CASES: list[tuple[str, str, dict, list, str, dict, list, list]] = [
    ("empty-file", "", {"debug": True}, [], "replace", {"debug": True}, [], ["debug"]),
    ("whitespace-file", " \n", {}, [], "replace", {}, [], []),
    (
        "runtime-added-nvidia-kept",
        json.dumps({"runtimes": NVIDIA}),
        {"runtimes": SYSBOX},
        [],
        "replace",
        {"runtimes": {**NVIDIA, **SYSBOX}},
        [],
        ["runtimes"],
    ),
    (
        "nested-mapping-merge",
        json.dumps({"log-opts": {"max-size": "10m", "max-file": "3"}}),
        {"log-opts": {"max-size": "50m"}},
        [],
        "replace",
        {"log-opts": {"max-size": "50m", "max-file": "3"}},
        ["log-opts"],
        [],
    ),
    (
        "list-replace",
        json.dumps({"registry-mirrors": ["https://a"]}),
        {"registry-mirrors": ["https://b"]},
        [],
        "replace",
        {"registry-mirrors": ["https://b"]},
        [],
        ["registry-mirrors"],
    ),
    (
        "list-append-no-duplicates",
        json.dumps({"registry-mirrors": ["https://a", "https://b"]}),
        {"registry-mirrors": ["https://b", "https://c"]},
        [],
        "append",
        {"registry-mirrors": ["https://a", "https://b", "https://c"]},
        [],
        ["registry-mirrors"],
    ),
    (
        "append-onto-missing-list",
        "{}",
        {"exec-opts": ["native.cgroupdriver=cgroupfs"]},
        [],
        "append",
        {"exec-opts": ["native.cgroupdriver=cgroupfs"]},
        ["exec-opts"],
        [],
    ),
    (
        "mapping-replaces-scalar",
        json.dumps({"features": "odd"}),
        {"features": {"buildkit": True}},
        [],
        "replace",
        {"features": {"buildkit": True}},
        [],
        ["features"],
    ),
    (
        "same-value-no-change",
        json.dumps({"storage-driver": "overlay2", "debug": False}),
        {"storage-driver": "overlay2"},
        [],
        "replace",
        {"storage-driver": "overlay2", "debug": False},
        [],
        [],
    ),
    (
        "restart-and-reload-mixed",
        json.dumps({"debug": False}),
        {"debug": True, "storage-driver": "overlay2"},
        [],
        "replace",
        {"debug": True, "storage-driver": "overlay2"},
        ["storage-driver"],
        ["debug"],
    ),
    (
        "log-level-needs-restart",
        "{}",
        {"log-level": "debug"},
        [],
        "replace",
        {"log-level": "debug"},
        ["log-level"],
        [],
    ),
    (
        "removed-reloadable-key-needs-restart",
        json.dumps({"debug": True, "labels": ["a"]}),
        {},
        ["debug"],
        "replace",
        {"labels": ["a"]},
        ["debug"],
        [],
    ),
    (
        "nested-removal-in-reloadable-key-reloads",
        json.dumps({"runtimes": {**NVIDIA, **SYSBOX}}),
        {},
        ["runtimes.sysbox-runc"],
        "replace",
        {"runtimes": NVIDIA},
        [],
        ["runtimes"],
    ),
    (
        "unknown-key-needs-restart",
        "{}",
        {"some-future-key": 1},
        [],
        "replace",
        {"some-future-key": 1},
        ["some-future-key"],
        [],
    ),
    (
        "remove-nested-key",
        json.dumps({"log-opts": {"max-size": "10m", "max-file": "3"}, "debug": True}),
        {},
        ["log-opts.max-file"],
        "replace",
        {"log-opts": {"max-size": "10m"}, "debug": True},
        ["log-opts"],
        [],
    ),
    (
        "remove-absent-is-noop",
        json.dumps({"debug": True}),
        {},
        ["runtimes.sysbox-runc", "bip"],
        "replace",
        {"debug": True},
        [],
        [],
    ),
    (
        "remove-escaped-dot",
        json.dumps({"runtimes": {"io.x": {"path": "/x"}, "runc": {"path": "runc"}}}),
        {},
        ["runtimes.io\\.x"],
        "replace",
        {"runtimes": {"runc": {"path": "runc"}}},
        [],
        ["runtimes"],
    ),
    (
        "remove-and-merge-together",
        json.dumps({"runtimes": NVIDIA, "bip": "10.1.0.1/24"}),
        {"runtimes": SYSBOX},
        ["bip"],
        "replace",
        {"runtimes": {**NVIDIA, **SYSBOX}},
        ["bip"],
        ["runtimes"],
    ),
]


@pytest.mark.parametrize(
    "existing,options,remove,list_merge,expected,restart,reload_",
    [case[1:] for case in MERGE_CASES],
    ids=[case[0] for case in MERGE_CASES],
)
def test_plan_table(existing, options, remove, list_merge, expected, restart, reload_) -> None:
    result = plan(existing, options, remove, list_merge)
    assert result.after == expected
    assert result.restart_required_keys == restart
    assert result.reload_sufficient_keys == reload_
    assert result.restart_required is bool(restart)
    assert result.reload_sufficient is (bool(reload_) and not restart)
    assert result.changed is (parse_config(existing) != expected)


# (id, existing text, options, remove, list_merge, fragment expected in the message)
ERROR_CASES: list[tuple[str, str, Any, list, str, str]] = [
    ("not-json", "{broken", {}, [], "replace", "daemon.json is not valid JSON"),
    ("trailing-comma", '{"debug": true,}', {}, [], "replace", "line 1"),
    ("top-level-list", "[1, 2]", {}, [], "replace", "JSON object at the top level"),
    (
        "options-not-mapping",
        "{}",
        ["debug"],
        [],
        "replace",
        "options must be a mapping",
    ),
    (
        "bool-as-string",
        "{}",
        {"debug": "yes"},
        [],
        "replace",
        "options['debug'] must be a boolean",
    ),
    (
        "list-as-string",
        "{}",
        {"registry-mirrors": "https://m"},
        [],
        "replace",
        "must be a list",
    ),
    (
        "runtimes-not-mapping",
        "{}",
        {"runtimes": "sysbox"},
        [],
        "replace",
        "options['runtimes'] must be a mapping",
    ),
    ("runtime-without-path", "{}", {"runtimes": {"x": {}}}, [], "replace", "'path'"),
    (
        "log-opts-number",
        "{}",
        {"log-opts": {"max-file": 3}},
        [],
        "replace",
        "quote ['max-file']",
    ),
    (
        "relative-data-root",
        "{}",
        {"data-root": "var/lib/docker"},
        [],
        "replace",
        "absolute path",
    ),
    ("bad-log-level", "{}", {"log-level": "verbose"}, [], "replace", "log-level"),
    ("mtu-bool", "{}", {"mtu": True}, [], "replace", "must be an integer"),
    ("null-value", "{}", {"debug": None}, [], "replace", "list it under 'remove'"),
    (
        "pool-without-size",
        "{}",
        {"default-address-pools": [{"base": "10.0.0.0/8"}]},
        [],
        "replace",
        "'size'",
    ),
    ("empty-remove-part", "{}", {}, ["log-opts..x"], "replace", "empty part"),
    (
        "remove-conflicts-options",
        "{}",
        {"debug": True},
        ["debug"],
        "replace",
        "also sets",
    ),
    ("bad-list-merge", "{}", {}, [], "merge", "list_merge must be one of"),
]


@pytest.mark.parametrize(
    "existing,options,remove,list_merge,fragment",
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_plan_refuses(existing, options, remove, list_merge, fragment) -> None:
    with pytest.raises(DaemonConfigError) as info:
        plan(existing, options, remove, list_merge)
    assert fragment in str(info.value)


def test_split_dotted() -> None:
    assert split_dotted("a.b") == ["a", "b"]
    assert split_dotted("runtimes.io\\.containerd\\.x") == [
        "runtimes",
        "io.containerd.x",
    ]
    with pytest.raises(DaemonConfigError):
        split_dotted("")


def test_classify_splits_keys() -> None:
    assert classify(["debug"], {"debug": True}, {}) == (["debug"], [])
    assert classify(["runtimes", "data-root", "debug", "bip"]) == (
        ["bip", "data-root"],
        ["debug", "runtimes"],
    )


def test_render_roundtrip_and_inputs_not_mutated() -> None:
    base = {"runtimes": {"nvidia": {"path": "x"}}, "labels": ["a"]}
    options = {"runtimes": {"sysbox-runc": {"path": "y"}}, "labels": ["b"]}
    snapshot = json.dumps([base, options])
    merged = deep_merge(base, options, "append")
    assert json.dumps([base, options]) == snapshot
    text = render(merged)
    assert text.endswith("}\n") and "\n  " in text
    assert json.loads(text) == merged


# ---------------------------------------------------------------- property tests
KEYS = st.sampled_from(["a", "b", "c", "runtimes", "log-opts", "x.y", "labels"])
SCALARS = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=4))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(KEYS, children, max_size=3)),
    max_leaves=8,
)
CONFIGS = st.dictionaries(KEYS, JSON_VALUES, max_size=5)


def _leaf_paths(config: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every path to a non-mapping value (or to an empty mapping)."""
    if isinstance(config, dict) and config:
        out: list[tuple[tuple[str, ...], Any]] = []
        for key, value in config.items():
            out.extend(_leaf_paths(value, prefix + (key,)))
        return out
    return [(prefix, config)]


def _named(options: Any, path: tuple[str, ...]) -> bool:
    """True when options names path or one of its ancestors with a non-mapping (replacing) value."""
    node = options
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return True


def _get(config: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        config = config[part]
    return config


@settings(max_examples=300, deadline=None)
@given(existing=CONFIGS, options=CONFIGS, list_merge=st.sampled_from(["replace", "append"]))
def test_property_unnamed_keys_survive(existing, options, list_merge) -> None:
    merged = deep_merge(existing, options, list_merge)
    for path, value in _leaf_paths(existing):
        if path and not _named(options, path):
            assert _get(merged, path) == value
    # and every option is present with its value (replace) or its items (append)
    for path, value in _leaf_paths(options):
        if not path:
            continue
        got = _get(merged, path)
        if value == {}:  # an empty mapping merges into whatever mapping is there
            assert isinstance(got, dict)
        elif list_merge == "append" and isinstance(value, list) and isinstance(got, list):
            assert all(item in got for item in value)
        else:
            assert got == value


@settings(max_examples=200, deadline=None)
@given(existing=CONFIGS, options=CONFIGS, list_merge=st.sampled_from(["replace", "append"]))
def test_property_merge_is_idempotent(existing, options, list_merge) -> None:
    once = deep_merge(existing, options, list_merge)
    assert deep_merge(once, options, list_merge) == once


@settings(max_examples=200, deadline=None)
@given(existing=CONFIGS, data=st.data())
def test_property_remove_then_merge_laws(existing, data) -> None:
    paths = [leaf[0] for leaf in _leaf_paths(existing) if leaf[0]]
    chosen = data.draw(st.lists(st.sampled_from(paths), max_size=3, unique=True)) if paths else []
    dotted = [".".join(part.replace(".", "\\.") for part in p) for p in chosen]
    removed, done = remove_keys(existing, dotted)
    # every removed path is gone, everything else not under it is kept
    for path in chosen:
        node: Any = removed
        for part in path[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        assert not (isinstance(node, dict) and path[-1] in node)
    for path, value in _leaf_paths(existing):
        if path and not any(path[: len(c)] == c for c in chosen):
            assert _get(removed, path) == value
    assert sorted(done) == sorted(dotted)
    # remove is idempotent, and merging back the removed values restores the original leaves
    assert remove_keys(removed, dotted)[0] == removed
    restore: dict[str, Any] = {}
    for path in chosen:
        node = restore
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _get(existing, path)
    assert deep_merge(removed, restore) == existing
