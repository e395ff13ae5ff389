# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the modules that read kernel files."""

    DOCUMENTATION = r"""
options:
  proc_root:
    description:
      - Directory read as C(/proc).
      - Point it at a captured tree (for example C(tests/unit/fixtures/<case>/proc)) to analyse another machine.
      - A directory that does not exist fails the module with a message naming it, except in a captured tree that
        has only its C(sys) part (O(proc_root) missing, O(sys_root) its existing sibling); that tree is read for what
        C(sys) allows, and each field read from C(/proc) is null with a warning.
    type: path
    default: /proc
  sys_root:
    description:
      - Directory read as C(/sys).
      - Files missing below it make the fields read from them null and add a warning.
    type: path
    default: /sys
  pid:
    description:
      - Process whose files below O(proc_root) are read, C(self) or a numeric process id.
      - C(self) is the module's own Python process, which runs where the task runs.
    type: str
    default: self
"""
