"""Report sections for a monitor's JSONL log: norms over training, profiles, alerts.

A log may hold several runs (a rerun appends to the same file) and gaps (a file deleted or
moved while training ran was recreated): each run is reported on its own, the latest by
default, and every gap in it is named with the records it may have lost.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from gradtrace.formats.monitor import read_monitor_log
from gradtrace.monitor.runs import select_run, split_runs
from gradtrace.report.charts import loss_chart, profile_chart, timeline_chart
from gradtrace.report.document import Document, Fact, Section, Table, tone_of
from gradtrace.report.records import Curve, number, profile_curves
from gradtrace.report.spec import FigureSpec, Series, color

MAX_PROFILES_DRAWN = 8  # g-against-lag lines drawn for a monitor (first, last and evenly between)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The checked records of a monitor log (gradtrace.formats.monitor); a cut-off last line of a
    live run is skipped, any other broken line is an error naming it."""
    return read_monitor_log(path)


def is_monitor_log(path: Path) -> bool:
    """True when the first record of a .jsonl file looks like a monitor record."""
    try:
        with path.open(encoding="utf-8") as f:
            head = json.loads(f.readline() or "{}")
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(head, dict) and "step" in head and "kind" in head


def _spread(items: list[Any], n: int) -> list[Any]:
    """At most n items: first, last and evenly spaced between."""
    if len(items) <= n:
        return items
    idx = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in idx]


def norms_section(steps: list[dict[str, Any]]) -> Section | None:
    """Global and per-layer gradient norms (and loss, when logged) against the training step."""
    if not steps:
        return None
    x = [r.get("step") for r in steps]
    series = []
    for i, (key, label) in enumerate(
        [
            ("global_norm", "global norm (before clipping)"),
            ("global_norm_clipped", "after clipping"),
        ]
    ):
        values = [number(r.get(key)) for r in steps]
        if any(v is not None for v in values):
            series.append(Series(label, clean_steps(x), values, color=color(i), dash=i == 1))
    names = dict.fromkeys(name for r in steps for name in (r.get("layers") or {}))
    by_layer: dict[str, list[float | None]] = {name: [] for name in names}
    for r in steps:
        layers = r.get("layers") or {}
        for name in by_layer:
            by_layer[name].append(number(layers.get(name)))
    figures = []
    if series:
        figures.append(
            FigureSpec(
                key="global-norm",
                title="Global gradient norm",
                x_title="training step",
                y_title="||grad||",
                y_log=True,
                series=tuple(series),
            )
        )
    if by_layer:
        layer_series = tuple(
            Series(name, clean_steps(x), values, color=color(i))
            for i, (name, values) in enumerate(by_layer.items())
        )
        figures.append(
            FigureSpec(
                key="layer-norms",
                title="Gradient norm per layer",
                x_title="training step",
                y_title="||grad||",
                y_log=True,
                series=layer_series,
            )
        )
    losses = [number(r.get("loss")) for r in steps]
    if any(v is not None for v in losses):
        figures.append(loss_chart([("loss", clean_steps(x), losses)]))
    rates = [number((r.get("lr") or [None])[0]) for r in steps]
    if any(v is not None for v in rates):
        figures.append(
            loss_chart([("learning rate", clean_steps(x), rates)], key="lr",
                       title="Learning rate", y_title="learning rate")
        )  # fmt: skip
    clipped = sum(1 for r in steps if r.get("clipped"))
    facts = [
        Fact("steps logged", str(len(steps))),
        Fact("last step", str(x[-1])),
        Fact("clipped steps", f"{clipped} ({100 * clipped / len(steps):.0f}%)"),
    ]
    nonfinite = sum(1 for r in steps if r.get("nonfinite"))
    if nonfinite:
        facts.append(Fact("steps with non-finite gradients", str(nonfinite), "bad"))
    return Section("norms", "Gradient norms during training", facts=facts, figures=figures)


def clean_steps(values: list[Any]) -> list[float | None]:
    """Step numbers as floats (None where missing)."""
    return [number(v) for v in values]


def profiles_section(profiles: list[dict[str, Any]]) -> Section | None:
    """g against lag for a spread of profiles, and a heatmap of r_k over training per layer."""
    usable = [(p.get("step"), profile_curves(p.get("profile") or {})) for p in profiles]
    usable = [(s, c) for s, c in usable if c]
    if not usable:
        return None
    drawn = _spread(usable, MAX_PROFILES_DRAWN)
    figures: list[FigureSpec] = [
        profile_chart(
            [(f"step {s}", curves) for s, curves in drawn],
            key="profiles",
            title="Gradient norm against lag, at several training steps",
            cell=False,
        )
    ]
    names = [c.name for c in usable[-1][1]]
    for i, name in enumerate(names):
        rows: list[Curve] = []
        steps = []
        for s, curves in usable:
            match = next((c for c in curves if c.name == name), None)
            if match is not None:
                rows.append(match)
                steps.append(number(s) or 0.0)
        if len(rows) >= 2:
            figures.append(
                timeline_chart(
                    steps, rows, key=f"timeline-{i}", title=f"Gradient through time: {name}"
                )
            )
    last = profiles[-1]
    facts = [
        Fact("profiles", str(len(usable))),
        Fact("latest verdict", str(last.get("verdict", "?")), tone_of(last.get("verdict"))),
    ]
    table = _summary_table(last.get("layers") or [], f"Layers at step {last.get('step')}")
    return Section(
        "profiles",
        "Gradient through time",
        intro="g_t is the mean norm of dL/dh_t over the batch; lag k = T - t counts steps back.",
        facts=facts,
        figures=figures,
        tables=[table] if table else [],
    )


def _summary_table(rows: list[dict[str, Any]], title: str) -> Table | None:
    if not rows:
        return None
    columns = list(rows[0].keys())
    return Table(title, columns, [[r.get(c) for c in columns] for r in rows])


def alerts_section(alerts: list[dict[str, Any]]) -> Section | None:
    """A table of the monitor's alerts."""
    if not alerts:
        return None
    preferred = ["step", "alert", "where", "finding", "value", "reference", "advice", "repeats"]
    columns = [c for c in preferred if any(c in a for a in alerts)]
    if "finding" not in columns:  # an older or foreign log: show its one-line message
        columns = [c for c in ("step", "message") if any(c in a for a in alerts)]
    rows = [[a.get(c) for c in columns] for a in alerts]
    return Section(
        "alerts",
        "Alerts",
        facts=[Fact("alerts", str(len(alerts)), "warn")],
        tables=[Table("", columns, rows)],
    )


def _runs_table(runs: dict[str, list[dict[str, Any]]]) -> Table:
    rows = []
    for run, records in runs.items():
        steps = [r.get("step") for r in records if r.get("kind") == "step"]
        gaps = sum(1 for r in records if r.get("kind") == "gap")
        started = next((r.get("started") for r in records if r.get("kind") == "run"), None)
        rows.append([run, started, len(steps), steps[0] if steps else None,
                     steps[-1] if steps else None, gaps])  # fmt: skip
    columns = ["run", "started", "steps", "first step", "last step", "gaps"]
    return Table("Runs in this log", columns, rows)


def runs_section(
    runs: dict[str, list[dict[str, Any]]], shown: str, gaps: list[dict[str, Any]]
) -> Section | None:
    """Which run of the log is shown, every run in it, and every gap in the one shown; None for
    one run without gaps."""
    all_runs = list(runs)
    if len(all_runs) <= 1 and not gaps:
        return None
    facts = [Fact("runs in this log", str(len(all_runs))), Fact("run shown", shown)]
    for gap in gaps:
        steps = gap.get("missing_steps") or ["?", "?"]
        text = f"up to {gap.get('missing_records', '?')} records (steps {steps[0]}-{steps[1]})"
        facts.append(Fact(f"gap at step {gap.get('step')}: {gap.get('reason', '')}", text, "warn"))
    intro = "A rerun appending to the file starts a new run; the latest is shown."
    return Section("runs", "Runs and gaps", intro=intro, facts=facts, tables=[_runs_table(runs)])


def monitor_document(path: Path, *, run: str | None = "latest") -> Document:
    """The report of a monitor JSONL log: one run of it ("latest", a run id, or None: all)."""
    records = read_jsonl(path)
    runs = split_runs(records)
    all_runs = list(runs)
    records = select_run(records, run)
    kinds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        kinds[str(r.get("kind", "step"))].append(r)
    shown = "all" if run is None else (all_runs[-1] if run == "latest" and all_runs else run)
    doc = Document(title=path.name, source=str(path), kind="monitor log")
    doc.add(runs_section(runs, str(shown), kinds["gap"]))
    doc.add(norms_section(kinds["step"]))
    doc.add(profiles_section(kinds["profile"]))
    doc.add(alerts_section(kinds["alert"]))
    return doc
