"""Outcomes of a study grouped by (task, variant, T): counts, medians, and solved by majority."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

NEAR_BASELINE = 0.2  # less than 20% of the way from chance level to perfect


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
        """solved | diverged | failed | unsolved | pending: the cell's headline."""
        if self.finished == 0:
            return "pending"
        if self.solved:
            return "solved"
        for status in ("diverged", "failed"):
            if 2 * self.count(status) > self.finished:
                return status
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
    def out_of_time(self) -> bool:
        """Whether every unsolved run stopped on its time budget before its step budget."""
        unsolved = [r for r in self.rows if r["status"] == "unsolved"]
        return bool(unsolved) and all(
            isinstance(r.get("steps"), int) and r["steps"] < r["config"]["train"]["max_steps"]
            for r in unsolved
        )

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
