#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

DOCUMENTATION = r"""
---
module: nesting_report
short_description: Write the nesting report (table, report.json, report.html) from per-level nesting facts
version_added: 0.1.0
description:
  - Takes one record per level (a host, a node, a Docker-in-Docker container, a container inside it)
    holding the result of M(nested.hosts.nesting_facts) on that level, and builds the nesting report.
  - Returns the report as a plain-text table (RV(table)) for the terminal, and writes the same report as
    C(report.json) (schema in C(docs/report-schema.md) and C(docs/report.schema.json)) and as a
    self-contained C(report.html) (inline CSS, no scripts, no external assets, every value escaped).
  - "Meant to run on the controller (C(delegate_to: localhost) or a play on C(localhost)); the
    C(nested.hosts.verify) playbook gathers the records and calls it."
  - The documents hold no timestamp, so the same facts give the same files and a second run reports no change.
author:
  - nested.hosts contributors !UNKNOWN
extends_documentation_fragment:
  - nested.hosts.attributes
attributes:
  check_mode:
    support: full
    details:
      - Builds the report and returns RV(table), but writes no file; C(changed) tells whether a file would change.
      - A missing directory is not an error in check mode (an earlier task may be about to create it).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  records:
    description:
      - One mapping per level. Keys are C(host) (inventory name, required and unique), C(depth) (0 for a real
        host, C(nested_hosts_depth) for a nested level), C(parent) (inventory name of the level it runs on),
        C(method) (how the level was made, for example C(node) or C(dind)), C(facts) (the registered result of
        M(nested.hosts.nesting_facts)) and C(error) (why C(facts) is missing, for a level that was not reached).
      - A C(facts) value that is a failed result counts as a level that was not reached.
    type: list
    elements: dict
    required: true
  json_path:
    description:
      - Where to write C(report.json). Its directory must exist. Omit to write no JSON file.
    type: path
  html_path:
    description:
      - Where to write C(report.html). Its directory must exist. Omit to write no HTML file.
    type: path
  title:
    description:
      - Heading and title of the HTML page.
    type: str
    default: Nesting report
notes:
  - The terminal table shows, per level, host, depth, runtime (and the method that made the level),
    cgroup version, whether C(devices) has its own v1 hierarchy, cgroup namespace, AppArmor profile,
    capabilities missing from the bounding set, whether Docker can nest there, and the ids of the risks found.
seealso:
  - module: nested.hosts.nesting_facts
"""

EXAMPLES = r"""
---
- name: Gather nesting facts on every level
  nested.hosts.nesting_facts:
  register: nh_facts

- name: Write the report for a host and a Docker-in-Docker container on it
  nested.hosts.nesting_report:
    records:
      - host: docker1
        depth: 0
        method: dind
        facts: "{{ hostvars['docker1'].nh_facts }}"
      - host: docker1-dind
        depth: 1
        parent: docker1
        facts: "{{ hostvars['docker1-dind'].nh_facts | default(None) }}"
        error: "{{ 'not reached' if hostvars['docker1-dind'].nh_facts is not defined else omit }}"
    json_path: /srv/reports/report.json
    html_path: /srv/reports/report.html
  delegate_to: localhost
  run_once: true

- name: Report on one host, written next to the playbook
  nested.hosts.nesting_report:
    records:
      - host: "{{ inventory_hostname }}"
        depth: 0
        facts: "{{ nh_facts }}"
    json_path: "{{ playbook_dir }}/report.json"
    html_path: "{{ playbook_dir }}/report.html"
  delegate_to: localhost
  register: nh_report

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ nh_report.table | split('\n') }}"
"""

RETURN = r"""
table:
  description: The report as fixed-width text, a header, one line per level, then a summary line and, for each
    level that cannot nest, its reasons.
  returned: always
  type: str
  sample: |
    host       depth  runtime    cgroup  devices hierarchy  cgroupns  AppArmor profile  caps short of full  can nest  risks
    ---------  -----  ---------  ------  -----------------  --------  ----------------  ------------------  --------  -----
    localhost  0      none       hybrid  own                host      not available     SYS_RESOURCE        yes       -
rows:
  description: One mapping per level in tree order (each level after its parent). Same keys as the rows of
    C(report.json) except C(facts).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: Inventory name.
      type: str
    depth:
      description: Nesting depth, 0 for a real host.
      type: int
    parent:
      description: Inventory name of the level this one runs on, or null.
      type: str
    method:
      description: How the level was made (C(node), C(dind), ...), or null.
      type: str
    runtime:
      description: C(container_runtime) from M(nested.hosts.nesting_facts).
      type: str
    cgroup_version:
      description: C(v1), C(v2) or C(hybrid).
      type: str
    devices_hierarchy:
      description: C(own), C(shared), C(unknown), or the text n/a (v2) on pure cgroup v2.
      type: str
    cgroupns:
      description: C(private), C(host) or C(unknown).
      type: str
    apparmor_profile:
      description: Profile confining the level and its mode, C(not available), or C(unknown).
      type: str
    capabilities_missing:
      description: Capabilities missing from the bounding set.
      type: list
      elements: str
    effective_missing:
      description: Capabilities in the bounding set but not in the effective set.
      type: list
      elements: str
    can_nest:
      description: C(can_nest_docker) of the level; null when the level was not reached.
      type: bool
    reasons:
      description: Why the level cannot nest.
      type: list
      elements: str
    risks:
      description: Risks with C(id), C(severity) and C(message).
      type: list
      elements: dict
    error:
      description: Why the level has no facts, or null.
      type: str
summary:
  description: Totals over all levels.
  returned: always
  type: dict
  contains:
    levels:
      description: Number of levels.
      type: int
    max_depth:
      description: Deepest level with facts, null when none has facts.
      type: int
      sample: 3
    all_can_nest:
      description: Every level reports C(can_nest_docker).
      type: bool
    cannot_nest:
      description: Levels that cannot nest or were not reached.
      type: list
      elements: str
    unreached:
      description: Levels without facts.
      type: list
      elements: str
    risk_counts:
      description: Number of risks per severity.
      type: dict
files:
  description: For each file asked for, its path and whether it changed (or would change, in check mode).
  returned: always
  type: dict
  sample: {"json": {"path": "/srv/reports/report.json", "changed": true}}
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.nested.hosts.plugins.module_utils._report import (
    ReportInputError,
    build_report,
)


def _check_target(module: AnsibleModule, option: str) -> None:
    path = module.params[option]
    if path is None:
        return
    if os.path.isdir(path):
        module.fail_json(msg=f"{option} {path} is a directory; give the full file name, for example {path}/report.json")
    parent = os.path.dirname(path) or "."
    # In check mode an earlier task that would create the directory did not run: not an error.
    if not os.path.isdir(parent) and not module.check_mode:
        module.fail_json(msg=f"{option}: directory {parent} does not exist; create it first or choose another path")


def _write(module: AnsibleModule, path: str, text: str) -> bool:
    data = text.encode("utf-8")
    if not os.path.isdir(os.path.dirname(path) or "."):
        return True  # check mode only (see _check_target): the file would be created
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    if module.check_mode:
        return True
    fd, tmp = tempfile.mkstemp(prefix=".nesting_report.", dir=os.path.dirname(path) or ".")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)
    return True


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "records": {"type": "list", "elements": "dict", "required": True},
            "json_path": {"type": "path"},
            "html_path": {"type": "path"},
            "title": {"type": "str", "default": "Nesting report"},
        },
        supports_check_mode=True,
    )
    try:
        report = build_report(module.params["records"], module.params["title"])
    except ReportInputError as err:
        module.fail_json(msg=str(err))
    for option in ("json_path", "html_path"):
        _check_target(module, option)
    files = {}
    for key, option in (("json", "json_path"), ("html", "html_path")):
        if module.params[option] is not None:
            files[key] = {
                "path": module.params[option],
                "changed": _write(module, module.params[option], report[key]),
            }
    rows = [{k: v for k, v in row.items() if k != "facts"} for row in report["rows"]]
    module.exit_json(
        changed=any(f["changed"] for f in files.values()),
        table=report["table"],
        rows=rows,
        summary=report["summary"],
        files=files,
    )


if __name__ == "__main__":
    main()
