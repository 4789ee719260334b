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
        shown = f" ({'; '.join(notes)})" if notes else ""
        if all(c.near_baseline for c in unsolved):
            parts.append(f"stays at baseline {where}{shown}")
        else:
            parts.append(f"unsolved {where}{shown}")
    for outcome in ("out_of_time", "diverged", "failed"):
        hit = [c for c in finished if c.outcome == outcome]
        if hit:
            note = _error_type(hit[0]) if outcome == "failed" else ""
            word = "out of time (clock cap)" if outcome == "out_of_time" else outcome
            parts.append(f"{word} at T=" + _list(c.seq_len for c in hit) + note)
    return prefix + "; ".join(parts)


def seeds_text(cell: Cell) -> str:
    """ "k/n [lo-hi]": seeds solved and the 95% Wilson interval of the success rate."""
    low, high = cell.success_interval
    return f"{cell.count('solved')}/{cell.finished} [{low:.2f}-{high:.2f}]"


def steps_text(cell: Cell) -> str:
    """Median steps to solve, with the range over seeds when they differ: "1050 (900-1200)"."""
    steps = cell.median("steps_to_solve", status="solved")
    span = cell.steps_range()
    if steps is None or span is None:
        return ""
    shown = f"{steps:.0f}"
    return shown if span[0] == span[1] else f"{shown} ({span[0]:.0f}-{span[1]:.0f})"


def matrix_text(cell: Cell, *, show_lr: bool = False) -> str:
    """One success-matrix entry: ✓ steps, · metric, ⏱ out of time, ✗ diverged, ! failed, … pending.

    With more than one seed the entry ends with "k/n [lo-hi]" (seeds solved, 95% Wilson
    interval); steps to solve are the median over the solved seeds with their range. With
    ``show_lr`` (tuned studies) it ends with the cell's learning rate: "lr 3e-3".
    """
    text = _matrix_mark(cell)
    if show_lr and cell.lrs and text != "…":
        text += " lr " + "/".join(lr_text(v) for v in cell.lrs)
    return text


def _matrix_mark(cell: Cell) -> str:
    outcome = cell.outcome
    seeds = f" {seeds_text(cell)}" if cell.finished > 1 else ""
    pending = " …" if cell.finished and cell.finished < len(cell.statuses) else ""
    if outcome == "pending":
        return "…"
    if outcome == "solved":
        steps = steps_text(cell)
        return f"✓ {steps}{seeds}{pending}" if steps else f"✓{seeds}{pending}"
    if outcome == "unsolved":
        metric = cell.median("metric", status="unsolved")
        shown = f" {metric:.3g}" if metric is not None else ""
        return f"·{shown}{seeds}{pending}"
    marks = {"out_of_time": "⏱ out of time", "diverged": "✗ diverged", "failed": "! failed"}
    return f"{marks[outcome]}{seeds}{pending}"


def lr_text(lr: float) -> str:
    """A learning rate as "3e-3" (two significant digits at most: "1.5e-3")."""
    mantissa, exponent = f"{lr:.1e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def lrs_text(cells: list[Cell]) -> str:
    """The learning rates of cells by T: "3e-3" when one, else "T=10: 3e-3, T=50: 1e-3"."""
    by_t = {c.seq_len: ", ".join(lr_text(v) for v in c.lrs) for c in cells if c.lrs}
    if len(set(by_t.values())) <= 1:
        return next(iter(by_t.values()), "n/a")
    return ", ".join(f"T={t}: {text}" for t, text in sorted(by_t.items()))


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
