# SPDX-License-Identifier: GPL-3.0-or-later
"""Put tests/integration on the path: its harness helpers have pure parts tested here."""

from __future__ import annotations

import sys
from pathlib import Path

INTEGRATION = str(Path(__file__).resolve().parents[2] / "integration")
if INTEGRATION not in sys.path:
    sys.path.insert(0, INTEGRATION)
