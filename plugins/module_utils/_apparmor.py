# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AppArmor state for nested container hosts (pure, typed)."""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.nested.hosts.plugins.module_utils._kernel import Reader

_PROFILE_LINE = re.compile(r"^(?P<name>.+?) \((?P<mode>[^()]+)\)$")
# AppArmor's profile modes (security/apparmor/include/policy.h and the kernel's "mixed"/"prompt").
APPARMOR_MODES = ("enforce", "complain", "kill", "unconfined", "user", "mixed", "prompt")
# An SELinux context: user:role:type:level (the level may itself hold ':' and ',').
_SELINUX_CONTEXT = re.compile(r"^[A-Za-z0-9_.]+:[A-Za-z0-9_.]+:[A-Za-z0-9_.]+(:.+)?$")


def is_apparmor_label(text: str | None) -> bool:
    """Whether ``attr/current`` holds an AppArmor label, ``name (mode)`` with one of AppArmor's modes.

    Only a running AppArmor writes such a label, so it proves AppArmor even where securityfs is hidden
    (usual inside containers). An SELinux context (``user:role:type:level``) or ``unconfined`` alone is not proof.
    """
    if text is None:
        return False
    match = _PROFILE_LINE.match(text.replace("\0", "").strip())
    return match is not None and match.group("mode") in APPARMOR_MODES


def is_selinux_context(text: str | None) -> bool:
    """Whether ``attr/current`` holds an SELinux context such as ``system_u:system_r:container_t:s0:c1,c2``."""
    return text is not None and bool(_SELINUX_CONTEXT.match(text.replace("\0", "").strip()))


def parse_profiles(text: str) -> dict[str, str]:
    """Parse ``sys/kernel/security/apparmor/profiles`` (``name (mode)`` per line)."""
    profiles: dict[str, str] = {}
    for line in text.splitlines():
        match = _PROFILE_LINE.match(line.strip())
        if match:
            profiles[match.group("name")] = match.group("mode")
    return profiles


def parse_current(text: str | None) -> dict[str, str | None] | None:
    """Parse ``attr/current``: ``docker-default (enforce)`` or ``unconfined``.

    An empty file (no LSM answers there) gives ``None``.
    """
    if text is None:
        return None
    value = text.replace("\0", "").strip()
    if not value:
        return None
    match = _PROFILE_LINE.match(value)
    if match:
        return {"profile": match.group("name"), "mode": match.group("mode")}
    if value == "unconfined":
        return {"profile": "unconfined", "mode": None}
    if is_selinux_context(value):
        # Another LSM answered in the shared attr/current file: no AppArmor label there.
        return None
    return {"profile": value, "mode": None}


def analyze(
    available: bool,
    enabled_text: str | None,
    profiles_text: str | None,
    current_text: str | None,
    userns_text: str | None,
) -> dict[str, t.Any]:
    """Compute the ``apparmor_info`` result from already-read texts."""
    profiles: dict[str, str] | None = {}
    if available:
        profiles = parse_profiles(profiles_text) if profiles_text is not None else None
    current = parse_current(current_text) if available else None
    if available and current is None and current_text is not None:
        # attr/current empty while AppArmor is present: treat as unconfined (no label).
        current = {"profile": "unconfined", "mode": None}
    enabled: bool | None = None
    if enabled_text is not None:
        enabled = enabled_text.strip().upper().startswith("Y")
    restrict: int | None = None
    if userns_text is not None and userns_text.strip().lstrip("-").isdigit():
        restrict = int(userns_text.strip())
    return {
        "available": available,
        "enabled": enabled if available else False,
        "profiles": profiles,
        "current": current,
        "docker_default_loaded": None
        if profiles is None
        else "docker-default" in profiles,
        "restrict_unprivileged_userns": restrict,
    }


def check_expectation(
    result: dict[str, t.Any], profile: str | None, mode: str | None
) -> str | None:
    """Return a failure message when ``profile`` is not loaded (in ``mode``), else ``None``."""
    if not profile:
        return None
    if not result["available"]:
        return f"expect_profile={profile!r}: AppArmor is not available on this kernel, so no profile is loaded."
    profiles = result["profiles"]
    if profiles is None:
        return f"expect_profile={profile!r}: the profile list could not be read (see warnings)."
    if profile not in profiles:
        return f"expect_profile={profile!r} is not loaded; load it (apparmor_parser -r) or fix the name."
    if mode and profiles[profile] != mode:
        return f"expect_profile={profile!r} is loaded in mode {profiles[profile]!r}, not expect_mode={mode!r}."
    return None


def gather(
    proc_root: str, sys_root: str, pid: str = "self", reader: Reader | None = None
) -> tuple[dict[str, t.Any], list[str]]:
    """Read the AppArmor files below ``proc_root``/``sys_root`` and return (result, warnings)."""
    reader = reader or Reader()
    warnings: list[str] = []
    security_dir = os.path.join(sys_root, "kernel", "security", "apparmor")
    module_dir = os.path.join(sys_root, "module", "apparmor")
    available = os.path.isdir(security_dir) or os.path.isdir(module_dir)
    own_label = reader.text(proc_root, pid, "attr", "apparmor", "current")
    if not available and (own_label.text or "").replace("\0", "").strip():
        # Only a running AppArmor answers in attr/apparmor/current (it is EINVAL otherwise), so a
        # label there proves AppArmor even where /sys shows nothing of it (e.g. securityfs unmounted).
        available = True
    if not available and own_label.text is None:
        legacy = reader.text(proc_root, pid, "attr", "current")
        if is_apparmor_label(legacy.text):
            # The legacy file is shared by the LSMs; a "name (mode)" label there is AppArmor's.
            available = True
            warnings.append(
                f"AppArmor is taken as available from the label {(legacy.text or '').replace(chr(0), '').strip()!r} in "
                f"{os.path.join(proc_root, pid, 'attr', 'current')}; {security_dir} is not visible here."
            )
    enabled = profiles = current = None
    if available:
        enabled_read = reader.text(module_dir, "parameters", "enabled")
        profiles_read = reader.text(security_dir, "profiles")
        current_read = own_label
        if current_read.text is None:
            current_read = reader.text(proc_root, pid, "attr", "current")
        for item in (enabled_read, profiles_read, current_read):
            if item.warning:
                warnings.append(item.warning)
        enabled, profiles, current = (
            enabled_read.text,
            profiles_read.text,
            current_read.text,
        )
    userns = reader.text(
        proc_root, "sys", "kernel", "apparmor_restrict_unprivileged_userns"
    )
    return analyze(available, enabled, profiles, current, userns.text), warnings
