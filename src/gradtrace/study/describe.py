"""Words for table cells, derived from outcomes: limitations observed and success-matrix marks."""

from __future__ import annotations

from gradtrace.study.outcomes import Cell


def limitation(cells: list[Cell], *, task: str | None = None) -> str:
    """What held a variant back on one task, from its cells sorted by T.

    E.g. "solved all T tested (up to 200)", "stays at baseline from T=50", "diverged at T=100",
    "unsolved from T=100 (mse 0.02)", "failed at T=10 (RuntimeError)".
    """
    finished = [c for c in cells if c.finished]
    prefix = f"{task}: " if task else ""
    if not finished:
        return f"{prefix}not run yet"
    if all(c.solved for c in finished):
        return f"{prefix}solved all T tested (up to {finished[-1].seq_len})"
    parts = []
    unsolved = [c for c in finished if c.outcome == "unsolved"]
    if unsolved:
        first = unsolved[0].seq_len
        onward = all(not c.solved for c in finished if c.seq_len >= first)
        where = f"from T={first}" if onward else "at T=" + _list(c.seq_len for c in unsolved)
        notes = [] if all(c.near_baseline for c in unsolved) else [_metric_note(unsolved[0])]
        notes += ["time budget ran out"] if unsolved[0].out_of_time else []
        shown = f" ({'; '.join(notes)})" if notes else ""
        if all(c.near_baseline for c in unsolved):
            parts.append(f"stays at baseline {where}{shown}")
        else:
            parts.append(f"unsolved {where}{shown}")
    for outcome in ("diverged", "failed"):
        hit = [c for c in finished if c.outcome == outcome]
        if hit:
            note = _error_type(hit[0]) if outcome == "failed" else ""
            parts.append(f"{outcome} at T=" + _list(c.seq_len for c in hit) + note)
    return prefix + "; ".join(parts)


def matrix_text(cell: Cell) -> str:
    """One success-matrix entry: ✓ steps, · metric, ✗ diverged, ! failed, … pending."""
    outcome = cell.outcome
    seeds = f" ({cell.count('solved')}/{cell.finished})" if cell.finished > 1 else ""
    pending = " …" if cell.finished and cell.finished < len(cell.statuses) else ""
    if outcome == "pending":
        return "…"
    if outcome == "solved":
        steps = cell.median("steps_to_solve", status="solved")
        return f"✓ {steps:.0f}{seeds}{pending}" if steps is not None else f"✓{seeds}{pending}"
    if outcome == "unsolved":
        metric = cell.median("metric", status="unsolved")
        shown = f" {metric:.3g}" if metric is not None else ""
        return f"·{shown}{seeds}{pending}"
    mark = "✗ diverged" if outcome == "diverged" else "! failed"
    return f"{mark}{seeds}{pending}"


def times(value: float | None) -> str:
    """A ratio as "1.00x" ("n/a" when unknown)."""
    return "n/a" if value is None else f"{value:.2f}x"


def _list(values: object) -> str:
    return ", ".join(str(v) for v in values)  # type: ignore[attr-defined]


def _metric_note(cell: Cell) -> str:
    metric = cell.median("metric", status="unsolved")
    record = next((r.get("record") or {} for r in cell.rows if r.get("record")), {})
    name = record.get("metric_name", "metric")
    return f"{name} {metric:.3g} at T={cell.seq_len}" if metric is not None else "no metric"


def _error_type(cell: Cell) -> str:
    errors = [r.get("error") for r in cell.rows if r.get("error")]
    return f" ({errors[0].split(':', 1)[0].strip()})" if errors else ""
