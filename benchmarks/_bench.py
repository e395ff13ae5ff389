# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark needs to run this checkout: it as the nested.hosts collection, and the
Ansible tools of the Python that runs the benchmark (benchmarks/ is on the path of a script run
from it, and of the unit tests through their conftest)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The command beside this Python (its virtualenv's ansible-playbook), else the name for PATH."""
    candidate = Path(sys.executable).with_name(name)
    return str(candidate) if candidate.exists() else name


def link_collection(root: Path, tree: Path = REPO) -> Path:
    """Make root a collections root that holds tree as nested.hosts (root/ansible_collections/nested/hosts);
    return root, for ANSIBLE_COLLECTIONS_PATH or sys.path."""
    (root / "ansible_collections" / "nested").mkdir(parents=True, exist_ok=True)
    link = root / "ansible_collections" / "nested" / "hosts"
    if not link.is_symlink():
        link.symlink_to(tree)
    return root


def import_collection() -> Path:
    """Make this checkout importable as ansible_collections.nested.hosts (module_utils for the
    benchmarks that call them directly); return the temporary root."""
    root = link_collection(Path(tempfile.mkdtemp(prefix="nh-bench-")))
    sys.path.insert(0, str(root))
    return root
