"""Outcomes of a study grouped by (task, variant, T): counts, medians, and solved by majority."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NEAR_BASELINE = 0.2  # less than 20% of the way from chance level to perfect
Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(k: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval (95% by default) for k successes in n trials.

    (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), with p = k/n; (0, 1) when n = 0.
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return max(0.0, (centre - half) / scale), min(1.0, (centre + half) / scale)


@dataclass
class Cell:
    """The runs of one variant on one task at one T (one per seed)."""

    task: str
    variant: str
    seq_len: int
    statuses: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        """Number of runs with ``status``."""
        return self.statuses.count(status)

    @property
    def finished(self) -> int:
        """Runs that ended (any status but pending/running)."""
        return len(self.statuses) - self.count("pending") - self.count("running")

    @property
    def solved(self) -> bool:
        """A strict majority of the finished runs solved the task."""
        return self.finished > 0 and 2 * self.count("solved") > self.finished

    @property
    def outcome(self) -> str:
        """solved | out_of_time | diverged | failed | unsolved | pending: the cell's headline.

        "out_of_time" when runs the clock stopped could still make a majority solved: the cell
        is undecided, never counted as unsolved.
        """
        if self.finished == 0:
            return "pending"
        if self.solved:
            return "solved"
        for status in ("diverged", "failed"):
            if 2 * self.count(status) > self.finished:
                return status
        late = self.count("out_of_time")
        if late and 2 * (self.count("solved") + late) > self.finished:
            return "out_of_time"
        if self.count("unsolved") == 0 and self.count("diverged") >= self.count("failed"):
            return "diverged" if self.count("diverged") else "failed"
        return "unsolved"

    def median(self, column: str, *, status: str | None = None) -> float | None:
        """Median of a numeric column over the runs (with ``status`` only, when given)."""
        values = [
            r[column]
            for r in self.rows
            if isinstance(r.get(column), int | float) and (status is None or r["status"] == status)
        ]
        return statistics.median(values) if values else None

    @property
    def lrs(self) -> list[float]:
        """The learning rates the cell's runs trained with (one when tuned per cell)."""
        found = {(r.get("config") or {}).get("train", {}).get("lr") for r in self.rows}
        return sorted(v for v in found if isinstance(v, int | float))

    @property
    def success_interval(self) -> tuple[float, float]:
        """95% Wilson interval of the fraction of finished runs that solved the task."""
        return wilson_interval(self.count("solved"), self.finished)

    def steps_range(self) -> tuple[float, float] | None:
        """(min, max) steps to solve over the solved runs; None when none solved."""
        values = [r["steps_to_solve"] for r in self.rows if r["status"] == "solved"]
        values = [v for v in values if isinstance(v, int | float)]
        return (min(values), max(values)) if values else None

    @property
    def near_baseline(self) -> bool:
        """Whether the unsolved runs ended near the task's chance level."""
        fractions = [f for f in (progress_fraction(r) for r in self.rows) if f is not None]
        return bool(fractions) and statistics.median(fractions) < NEAR_BASELINE


def progress_fraction(row: dict[str, Any]) -> float | None:
    """How far a run's final metric got from chance level (0) to perfect (1); None if unknown."""
    record = row.get("record") or {}
    metric, baseline = record.get("metric"), record.get("baseline")
    if row.get("status") != "unsolved" or metric is None or baseline is None:
        return None
    perfect = 1.0 if record.get("higher_is_better") else 0.0
    span = perfect - baseline
    return None if span == 0 else (metric - baseline) / span


def group_cells(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, int], Cell]:
    """Cells keyed by (task, variant, seq_len), in the order rows come."""
    cells: dict[tuple[str, str, int], Cell] = {}
    for row in rows:
        key = (row["task"], row["variant"], row["seq_len"])
        cell = cells.setdefault(key, Cell(*key))
        cell.statuses.append(row["status"])
        cell.rows.append(row)
    return cells


def longest_solved(cells: Iterable[Cell]) -> int | None:
    """The largest T of the given cells that was solved (None when none was)."""
    solved = [c.seq_len for c in cells if c.solved]
    return max(solved) if solved else None


def ratio(
    rows: Iterable[dict[str, Any]], reference: Iterable[dict[str, Any]], column: str
) -> float | None:
    """Median over matching (task, T, seed) of ``column`` / the reference's ``column``."""
    ref = {
        (r["task"], r["seq_len"], r["seed"]): r.get(column)
        for r in reference
        if isinstance(r.get(column), int | float) and r.get(column) > 0
    }
    ratios = [
        r[column] / ref[(r["task"], r["seq_len"], r["seed"])]
        for r in rows
        if (r["task"], r["seq_len"], r["seed"]) in ref and isinstance(r.get(column), int | float)
    ]
    return statistics.median(ratios) if ratios else None
