"""The fuzz suite: bad input of every kind gets one line (exit 2 / 4xx); no traceback, no hang."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # cli_corpus, file_corpus and guard
