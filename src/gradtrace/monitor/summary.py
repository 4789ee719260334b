"""The end-of-run summary: one Rich table of norms per layer, clipping, alerts and profiles."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from gradtrace.monitor.alerts import fmt
from gradtrace.monitor.history import History


def _stats(values: list[float]) -> tuple[str, str, str, str]:
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if not finite.size:
        return ("-", "-", "-", "-")
    last = array[-1]
    return (fmt(float(last)), fmt(float(np.median(finite))), fmt(finite.min()), fmt(finite.max()))


def summary_table(history: History) -> Table:
    """A row per gradient norm (global, each layer), then loss and lr when given; totals below."""
    totals = history.totals
    table = Table(title=f"gradtrace monitor: {totals.steps} steps", title_justify="left")
    for column in ("series", "last", "median", "min", "max", "non-finite"):
        table.add_column(column, justify="left" if column == "series" else "right")
    keys = ["global_norm", "global_norm_clipped"] + [f"layer/{n}" for n in history.layers()]
    label = {"global_norm": "global (raw)", "global_norm_clipped": "global (clipped)"}
    for key in keys:
        values = history.series.get(key, [])
        bad = sum(1 for v in values if not math.isfinite(v))
        table.add_row(label.get(key, key.removeprefix("layer/")), *_stats(values), str(bad))
    named = (("loss", "loss"), ("lr", "learning rate"))
    extra = [(key, name) for key, name in named if key in history.series]
    if extra:
        table.add_section()
    for key, name in extra:  # beside the norms, when the monitor was given them
        values = history.series[key]
        bad = sum(1 for v in values if not math.isfinite(v))
        table.add_row(name, *_stats(values), str(bad))
    kinds = Counter(alert.kind for alert in history.alerts)
    alerts = ", ".join(f"{kind} {count}" for kind, count in kinds.items()) or "none"
    verdicts = ", ".join(f"{p.step}: {p.verdict}" for p in history.profiles[-3:]) or "none"
    clip = "-" if math.isnan(totals.clip_rate) else f"{totals.clip_rate:.0%}"
    table.caption = (
        f"clip rate {clip}; skipped steps {totals.skipped}; non-finite steps {totals.nonfinite}; "
        f"alerts: {alerts}; profiles (step: verdict): {verdicts}"
    )
    table.caption_justify = "left"
    return table


def print_summary(history: History, *, console: Any = None) -> Table:
    """Print the summary table to ``console`` (stderr by default) and return it."""
    table = summary_table(history)
    (console or Console(stderr=True)).print(table)
    return table
