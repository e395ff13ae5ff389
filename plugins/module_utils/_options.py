# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn a nesting_facts result into community.docker.docker_container parameters.

One place for the mapping, so every role and playbook that starts a nesting container
passes the same parameters: what ``nesting_facts`` recommends, with the caller's
overrides on top. Keys that are not docker_container parameters never leak through.
"""

from __future__ import annotations

import typing as t

# docker_container parameters that decide whether Docker can nest inside the container.
CONTAINER_KEYS: tuple[str, ...] = (
    "privileged",
    "capabilities",
    "cap_drop",
    "security_opts",
    "device_cgroup_rules",
    "cgroupns_mode",
    "volumes",
)
_DEFAULTS: dict[str, t.Any] = {
    "privileged": False,
    "capabilities": [],
    "cap_drop": [],
    "security_opts": [],
    "device_cgroup_rules": [],
    "volumes": [],
}


class OptionsError(ValueError):
    """Input that cannot be mapped; the message names the argument and the fix."""


def container_options(
    facts: t.Mapping[str, t.Any] | None,
    overrides: t.Mapping[str, t.Any] | None = None,
    extra_volumes: t.Sequence[str] = (),
) -> dict[str, t.Any]:
    """docker_container parameters from ``facts['recommended_container_options']`` and ``overrides``.

    ``overrides`` replaces whole keys (it must use only :data:`CONTAINER_KEYS`);
    ``extra_volumes`` are appended to the volumes. ``cgroupns_mode`` is left out when
    neither source sets it, so docker_container keeps the daemon's default.
    """
    if facts is not None and not isinstance(facts, t.Mapping):
        raise OptionsError(f"the input must be a nesting_facts result (a dict), got {type(facts).__name__}")
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(CONTAINER_KEYS))
    if unknown:
        raise OptionsError(
            f"overrides has keys that are not nesting-related docker_container parameters: {', '.join(unknown)}; "
            f"use only {', '.join(CONTAINER_KEYS)}."
        )
    recommended = dict((facts or {}).get("recommended_container_options") or {})
    out: dict[str, t.Any] = {}
    for key in CONTAINER_KEYS:
        if key in overrides:
            value = overrides[key]
        elif key in recommended:
            value = recommended[key]
        elif key in _DEFAULTS:
            value = _DEFAULTS[key]
        else:
            continue
        out[key] = list(value) if isinstance(value, (list, tuple)) else value
    out["volumes"] = list(out.get("volumes", [])) + [v for v in extra_volumes if v not in out.get("volumes", [])]
    return out
