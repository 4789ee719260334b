"""What happens after a study finishes, beyond its tables (the HTML report hooks in here)."""

from __future__ import annotations

from pathlib import Path


def after_study(out_dir: str | Path) -> list[Path]:
    """Produce extra artifacts for the finished study in ``out_dir``; returns their paths.

    Called by `gradtrace study` after the tables are written (and by `gradtrace tables`). Does
    nothing yet; the report (report.html) is meant to be produced here.
    """
    return []
