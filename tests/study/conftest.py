"""Make the study tests' fake run functions importable (by the tests and by spawned workers)."""

from __future__ import annotations

import sys
from pathlib import Path

SUPPORT = str(Path(__file__).parent / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)  # spawned workers inherit sys.path, so they find study_fake_runs
