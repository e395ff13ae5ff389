#!/usr/bin/python
# Copyright (c) nested.hosts contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_daemon_config
short_description: Merge settings into Docker's daemon.json without losing anything else
version_added: 0.1.0
description:
  - Deep-merges O(options) into Docker's C(daemon.json) and removes the dotted key paths listed in O(remove).
    Every key that is not named stays as it was, so runtimes or mirrors added by other tools (NVIDIA, Sysbox, ...)
    survive.
  - An existing file that is not valid JSON (or not a JSON object) makes the module fail, naming the file and the
    parse error; the file is left untouched.
  - The file is written atomically (a temporary file in the same directory, C(fsync), then Ansible's own
    C(atomic_move)) and keeps the mode, owner and SELinux context of the file it replaces.
  - With O(state=read) the module only reads the file and returns it as RV(config); it never writes.
  - Reports whether the change needs a dockerd restart or whether a reload (SIGHUP) is enough, with the keys behind
    each answer. The module never signals or restarts dockerd itself.
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
attributes:
  check_mode:
    support: full
    details:
      - Computes the result, the restart/reload answer and the diff without writing.
  diff_mode:
    support: full
    details:
      - Shows the file before and after as indented JSON.
  idempotent:
    support: full
    details:
      - An unchanged result is never rewritten (the file keeps its inode and modification time).
options:
  path:
    description: The daemon.json file. Its directory must exist (with O(state=present) outside check mode).
    type: path
    default: /etc/docker/daemon.json
  state:
    description:
      - V(present) merges O(options) and O(remove) into the file.
      - V(read) reads the file and returns it as RV(config) without writing, and never reports a change. A missing
        file reads as C({}) with RV(existed=false). O(options) and O(remove) must be empty.
    type: str
    choices: [present, read]
    default: present
    version_added: 0.1.0
  options:
    description:
      - Settings to merge. Mappings are merged recursively; lists are handled according to O(list_merge); any other
        value replaces the existing one.
      - Well-known keys are checked for their type (for example C(log-opts) values must be strings and each
        C(runtimes) entry needs a C(path)).
    type: dict
    default: {}
  remove:
    description:
      - Dotted key paths to delete, for example C(log-opts.max-size) or C(runtimes.sysbox-runc). Write a literal dot
        inside a key as C(\.). Paths that are absent are ignored.
      - A path may not also be set by O(options).
    type: list
    elements: str
    default: []
  list_merge:
    description:
      - V(replace) makes a list in O(options) replace the existing list.
      - V(append) adds the items that are not yet present, keeping the existing order.
    type: str
    choices: [replace, append]
    default: replace
  backup:
    description: Keep a timestamped copy of the previous file next to it before writing; its path is returned.
    type: bool
    default: false
notes:
  - Dockerd refuses to start when a key is given both in daemon.json and as a command-line flag; keep keys such as
    C(pidfile) or C(hosts) in one place.
seealso:
  - name: dockerd configuration file
    description: The keys dockerd accepts and which ones it reloads on SIGHUP.
    link: https://docs.docker.com/reference/cli/dockerd/#daemon-configuration-file
"""

EXAMPLES = r"""
---
- name: Add the Sysbox runtime without touching other runtimes
  nested.hosts.docker_daemon_config:
    options:
      runtimes:
        sysbox-runc:
          path: /usr/bin/sysbox-runc
    backup: true
  register: daemon_config

- name: Reload or restart dockerd according to the result
  ansible.builtin.debug:
    msg: "restart: {{ daemon_config.restart_required }}, reload: {{ daemon_config.reload_sufficient }}"

- name: Read daemon.json as it is (nothing is written)
  nested.hosts.docker_daemon_config:
    state: read
  register: daemon_now

- name: Show the default runtime
  ansible.builtin.debug:
    msg: "{{ daemon_now.config['default-runtime'] | default('runc') }}"

- name: Append a registry mirror and drop a log option
  nested.hosts.docker_daemon_config:
    path: /etc/docker/daemon.json
    options:
      registry-mirrors:
        - https://mirror.example.org
    list_merge: append
    remove:
      - log-opts.max-file
"""

RETURN = r"""
config:
  description:
    - The configuration after the change (what the file holds, or would hold in check mode).
    - With O(state=read), what the file holds.
  returned: success
  type: dict
  sample: {"storage-driver": "overlay2", "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}}}
changed_keys:
  description: Top-level keys whose value was added, changed or removed.
  returned: success
  type: list
  elements: str
  sample: [runtimes]
removed_keys:
  description: The O(remove) paths that were present and are removed.
  returned: success
  type: list
  elements: str
  sample: [log-opts.max-file]
restart_required:
  description: True when a changed key is read by dockerd only at start, so dockerd must be restarted.
  returned: success
  type: bool
  sample: false
restart_required_keys:
  description:
    - The changed keys that need a restart. Keys the module does not know count here, and so does any key removed
      from the file (dockerd's reload keeps the running value of a key that is no longer set) and C(log-level)
      (measured on dockerd 20.10, a SIGHUP does not apply it).
  returned: success
  type: list
  elements: str
  sample: []
reload_sufficient:
  description: True when every changed key is one dockerd re-reads on SIGHUP.
  returned: success
  type: bool
  sample: true
reload_sufficient_keys:
  description: The changed keys dockerd re-reads on SIGHUP.
  returned: success
  type: list
  elements: str
  sample: [runtimes]
backup_file:
  description: The copy of the previous file, when O(backup=true) and a file was replaced.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/docker/daemon.json.1234.2026-11-24@09:00:00~
path:
  description: The file managed.
  returned: success
  type: str
  sample: /etc/docker/daemon.json
existed:
  description: Whether the file existed before the run.
  returned: success
  type: bool
  sample: true
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.nested.hosts.plugins.module_utils._daemon_config import (
    DaemonConfigError,
    Plan,
    plan,
    render,
)


def atomic_write(module: AnsibleModule, path: str, text: str, default_mode: int = 0o644) -> None:
    """Write text to a temp file in path's directory, fsync it, then module.atomic_move it over path.

    atomic_move keeps the mode, owner and SELinux context of the file it replaces; a new file gets
    default_mode. On failure the previous file is whole and the temp file is removed.
    """
    directory = os.path.dirname(path) or "."
    existed = os.path.exists(path)
    fd, tmp = tempfile.mkstemp(prefix=".daemon.json.", suffix=".tmp", dir=directory)
    module.add_cleanup_file(tmp)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    module.atomic_move(tmp, path)
    if not existed:
        os.chmod(path, default_mode)


def read_current(module: AnsibleModule, path: str) -> tuple[str, bool]:
    if not os.path.isdir(os.path.dirname(path) or "."):
        if module.check_mode:
            # A play that creates the directory first (docker_engine does) only plans here.
            return "", False
        module.fail_json(msg=f"path: the directory of {path} does not exist; install Docker or create it first")
    if not os.path.exists(path):
        return "", False
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), True
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=f"path: cannot read {path}: {to_native(exc)}")
    raise AssertionError("unreachable")


def result_of(result: Plan, path: str, existed: bool) -> dict[str, object]:
    return {
        "changed": result.changed,
        "path": path,
        "existed": existed,
        "config": result.after,
        "changed_keys": result.changed_keys,
        "removed_keys": result.removed_keys,
        "restart_required": result.restart_required,
        "restart_required_keys": result.restart_required_keys,
        "reload_sufficient": result.reload_sufficient,
        "reload_sufficient_keys": result.reload_sufficient_keys,
    }


def read_only(module: AnsibleModule, path: str) -> None:
    """state=read: report the file as it is."""
    if module.params["options"] or module.params["remove"]:
        module.fail_json(msg="state=read only reads the file: leave options and remove empty, or use state=present")
    if not os.path.isdir(os.path.dirname(path) or "."):
        text, existed = "", False
    else:
        text, existed = read_current(module, path)
    try:
        result = plan(text, {}, [], source=path)
    except DaemonConfigError as exc:
        module.fail_json(msg=str(exc), path=path)
    module.exit_json(**result_of(result, path, existed))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/docker/daemon.json"},
            "state": {"type": "str", "choices": ["present", "read"], "default": "present"},
            "options": {"type": "dict", "default": {}},
            "remove": {"type": "list", "elements": "str", "default": []},
            "list_merge": {
                "type": "str",
                "choices": ["replace", "append"],
                "default": "replace",
            },
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    path = module.params["path"]
    if module.params["state"] == "read":
        read_only(module, path)
    text, existed = read_current(module, path)
    try:
        result = plan(
            text,
            module.params["options"],
            module.params["remove"],
            module.params["list_merge"],
            source=path,
        )
    except DaemonConfigError as exc:
        module.fail_json(msg=str(exc), path=path)
    out = result_of(result, path, existed)
    if result.changed:
        before = render(result.before) if existed else ""
        out["diff"] = {
            "before": before,
            "after": render(result.after),
            "before_header": path,
            "after_header": path,
        }
        if not module.check_mode:
            if module.params["backup"] and existed:
                out["backup_file"] = module.backup_local(path)
            try:
                atomic_write(module, path, render(result.after))
            except Exception as exc:  # atomic_move raises a plain Exception when the rename fails
                module.fail_json(msg=f"path: writing {path} failed, the previous file is unchanged: {to_native(exc)}")
    module.exit_json(**out)


if __name__ == "__main__":
    main()
