# SPDX-License-Identifier: GPL-3.0-or-later
"""Records shaped like ``nested.hosts.nesting_facts`` results, shared by the report tests.

The values follow the module contract (docs/dev/DESIGN.md) and what was measured on
this project's machines: a cgroup v1 hybrid VM without AppArmor
whose bounding set lacks CAP_SYS_RESOURCE, and containers started on it.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.nested.hosts.plugins.module_utils._kernel import CAPABILITY_NAMES

# Every capability the kernel of the test VM knows, in kernel order (the module_utils table).
ALL_CAPS = list(CAPABILITY_NAMES)
DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SYS_CHROOT",
    "CAP_MKNOD",
    "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",
]
EQUIV_FLAGS = [
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw",
]
RISK_RELEASE_AGENT = {
    "id": "cgroup-v1-release-agent",
    "severity": "high",
    "message": "cgroup v1 with CAP_SYS_ADMIN, no LSM confinement and seccomp off (CVE-2022-0492 conditions).",
}
RISK_NO_LSM = {
    "id": "no-lsm",
    "severity": "medium",
    "message": "Neither AppArmor nor SELinux confines this process.",
}
RISK_PRIV = {
    "id": "privileged",
    "severity": "high",
    "message": "Privileged-equivalent: every capability the bounding set allows.",
}


def facts(
    *,
    in_container: bool = False,
    runtime: str = "none",
    cgroup_version: str = "hybrid",
    devices_own: bool | None = True,
    cgroupns: str = "host",
    apparmor_available: bool = False,
    profile: str = "unconfined",
    mode: str | None = None,
    bounding: list[str] | None = None,
    effective: list[str] | None = None,
    can_nest: bool = True,
    reasons: list[str] | None = None,
    risks: list[dict[str, str]] | None = None,
    flags: list[str] | None = None,
) -> dict[str, Any]:
    bounding = [c for c in ALL_CAPS if c != "CAP_SYS_RESOURCE"] if bounding is None else bounding
    effective = list(bounding) if effective is None else effective
    return {
        "changed": False,
        "failed": False,
        "in_container": in_container,
        "container_runtime": runtime,
        "evidence": ["measured"],
        "capabilities": {
            "effective": effective,
            "bounding": bounding,
            "missing_from_bounding": [c for c in ALL_CAPS if c not in bounding],
        },
        "privileged": False,
        "privileged_equivalent": len(bounding) >= len(ALL_CAPS) - 1,
        "seccomp": "disabled",
        "no_new_privs": False,
        "userns": {"active": False, "uid_map": [[0, 0, 4294967295]]},
        "docker_socket_mounted": False,
        "cgroup": {
            "cgroup_version": cgroup_version,
            "devices_own_hierarchy": devices_own,
            "cgroupns": cgroupns,
            "writable": True,
            "nesting_ready": can_nest,
            "reasons": [],
        },
        "apparmor": {
            "available": apparmor_available,
            "enabled": apparmor_available,
            "profiles": {},
            "current": {"profile": profile, "mode": mode},
            "docker_default_loaded": apparmor_available,
            "restrict_unprivileged_userns": None,
        },
        "can_nest_docker": can_nest,
        "reasons": reasons or [],
        "risks": risks if risks is not None else [copy.deepcopy(RISK_RELEASE_AGENT), copy.deepcopy(RISK_NO_LSM)],
        "recommended_run_flags": flags if flags is not None else list(EQUIV_FLAGS),
        "profile": "privileged-equivalent",
        "invocation": {"module_args": {"proc_root": "/proc", "sys_root": "/sys", "pid": "self"}},
    }


def chain_records() -> list[dict[str, Any]]:
    """host -> node (systemd node) -> dind -> container: the demo's depth-3 chain, given out of order."""
    return [
        {
            "host": "nh-c3",
            "depth": 3,
            "parent": "nh-dind",
            "method": None,
            "facts": facts(
                in_container=True,
                runtime="docker",
                risks=[RISK_PRIV, RISK_RELEASE_AGENT],
            ),
        },
        {
            "host": "localhost",
            "depth": 0,
            "parent": None,
            "method": "node",
            "facts": facts(),
        },
        {
            "host": "nh-dind",
            "depth": 2,
            "parent": "nh-node1",
            "method": "dind",
            "facts": facts(
                in_container=True,
                runtime="docker",
                risks=[RISK_PRIV, RISK_RELEASE_AGENT],
            ),
        },
        {
            "host": "nh-node1",
            "depth": 1,
            "parent": "localhost",
            "method": "node",
            "facts": facts(
                in_container=True,
                runtime="docker",
                risks=[RISK_PRIV, RISK_RELEASE_AGENT],
            ),
        },
    ]
