# SPDX-License-Identifier: GPL-3.0-or-later
"""Make this checkout importable as ``ansible_collections.nested.hosts`` for the tests.

A temporary ``ansible_collections/nested/hosts`` link to the checkout is put first on
``sys.path`` so the tests never depend on what is installed elsewhere.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _link_collection() -> str:
    root = Path(tempfile.mkdtemp(prefix="nh-collections-"))
    parent = root / "ansible_collections" / "nested"
    parent.mkdir(parents=True)
    os.symlink(REPO_ROOT, parent / "hosts")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return str(root)


_COLLECTIONS_ROOT = _link_collection()
sys.path.insert(0, _COLLECTIONS_ROOT)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", _COLLECTIONS_ROOT + os.pathsep + os.path.expanduser("~/.ansible/collections"))
