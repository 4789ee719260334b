"""Report sections for a study folder: results.sqlite (runs, meta, audit payloads), its tables."""

from __future__ import annotations

import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from gradtrace.formats.store import check_sqlite_file, check_tables, read_store, sqlite_error
from gradtrace.report.charts import loss_chart, profile_chart, timeline_chart
from gradtrace.report.document import Document, Fact, Section, Table, Tone
from gradtrace.report.records import Curve, as_list, number, profile_curves
from gradtrace.report.sources.audit import audit_section
from gradtrace.report.sources.environment import environment_section
from gradtrace.report.sources.tables import tables_section
from gradtrace.study.outcomes import wilson_interval
from gradtrace.study.tune_spec import TUNING

STORE_NAME = "results.sqlite"
MAX_CURVES_PER_FIGURE = 12  # lines per chart before a figure gets unreadable
MAX_TIMELINES = 8
PHASES = ("start", "middle", "end")


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to an SQLite file (never creates or changes it)."""
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=10.0)) as db:
        db.row_factory = sqlite3.Row
        yield db


def load_store(path: Path) -> dict[str, Any]:
    """Runs, meta values and JSON payloads (by kind) of a results.sqlite, read-only and checked."""
    return read_store(path)


def store_counts(path: Path) -> tuple[int, int]:
    """(runs, audit payloads) in a results.sqlite, counted without reading them."""
    check_sqlite_file(path)
    try:
        with read_only(path) as db:
            names = check_tables(db, path)
            runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in names else 0
            audits = 0
            if "json_records" in names:
                query = "SELECT COUNT(*) FROM json_records WHERE kind = 'audit'"
                audits = db.execute(query).fetchone()[0]
    except sqlite3.Error as e:
        raise sqlite_error(path, e) from None
    return int(runs), int(audits)


def _label(run: dict[str, Any]) -> str:
    return str(run.get("variant") or run.get("key", "run"))


def _first_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per (variant, task, T): the lowest seed with a record."""
    chosen: dict[tuple, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r.get("seed") or 0):
        key = (run.get("variant"), run.get("task"), run.get("seq_len"))
        if run.get("record") and key not in chosen:
            chosen[key] = run
    return list(chosen.values())


def overview_section(runs: list[dict[str, Any]]) -> Section | None:
    """Counts of runs by status, tasks and variants."""
    if not runs:
        return None
    status = Counter(str(r.get("status")) for r in runs)
    facts = [Fact("runs", str(len(runs)))]
    tones: dict[str, Tone] = {
        "solved": "good",
        "unsolved": "warn",
        "out_of_time": "neutral",
        "diverged": "bad",
        "failed": "bad",
    }
    facts += [Fact(s, str(n), tones.get(s, "neutral")) for s, n in sorted(status.items())]
    found = {(str(r.get("task")), number(r.get("seq_len")) or 0) for r in runs}
    tasks = [f"{task} T={seq_len:g}" for task, seq_len in sorted(found)]  # T in numeric order
    variants = sorted({_label(r) for r in runs})
    rows = _summary_rows(runs)
    table = Table(
        "Runs by variant, task and length",
        [
            "variant",
            "task",
            "T",
            "lr",
            "runs",
            "solved",
            "out of time",
            "success rate [95% Wilson]",
            "median steps to solve (range)",
        ],
        rows,
    )
    return Section(
        "overview",
        "Overview",
        intro=f"{len(variants)} variants on {', '.join(tasks)}.",
        facts=facts,
        tables=[table],
    )


def _summary_rows(runs: list[dict[str, Any]]) -> list[list[Any]]:
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in runs:
        groups[(_label(r), r.get("task"), r.get("seq_len"))].append(r)
    rows = []
    for (variant, task, seq_len), members in groups.items():
        solved = [m for m in members if m.get("status") == "solved"]
        late = sum(m.get("status") == "out_of_time" for m in members)
        steps = sorted(s for m in solved if (s := number(m.get("steps_to_solve"))) is not None)
        decided = len(members) - late
        low, high = wilson_interval(len(solved), decided)
        rate = f"{100 * len(solved) / decided:.0f}% [{low:.2f}-{high:.2f}]" if decided else "n/a"
        median: str | None = f"{statistics.median(steps):.0f}" if steps else None
        if steps and steps[0] != steps[-1]:
            median = f"{median} ({steps[0]:.0f}-{steps[-1]:.0f})"
        lrs = sorted({lr for m in members if (lr := _lr(m)) is not None})
        shown = ", ".join(f"{v:g}" for v in lrs) or None
        rows.append([variant, task, seq_len, shown, len(members), len(solved), late, rate, median])
    return sorted(rows, key=lambda row: (str(row[1]), number(row[2]) or 0))  # T numerically


def _lr(run: dict[str, Any]) -> float | None:
    """The learning rate a run trained with (from its stored config)."""
    train = (run.get("config") or {}).get("train") or (run.get("record") or {}).get("train_spec")
    return number((train or {}).get("lr"))


def _by_task(runs: list[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in _first_seed(runs):
        groups[(r.get("task"), r.get("seq_len"))].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)))


def profiles_section(runs: list[dict[str, Any]]) -> Section | None:
    """g against lag at the start of training, one chart per task and length."""
    figures = []
    for i, ((task, seq_len), members) in enumerate(_by_task(runs).items()):
        configs = []
        for run in members[:MAX_CURVES_PER_FIGURE]:
            profile = ((run["record"].get("profiles") or {}).get("start") or {}).get("profile")
            curves = profile_curves(profile, readable=True)
            if curves:
                configs.append((_label(run), curves[:2]))
        if configs:
            figures.append(
                profile_chart(
                    configs,
                    key=f"profile-{i}",
                    title=f"Gradient norm against lag at initialization: {task}, T={seq_len}",
                    cell=False,
                )
            )
    if not figures:
        return None
    return Section(
        "profiles",
        "Gradient against lag",
        intro="g_{T-k}: mean norm of dL/dh at k steps before the loss, measured on one "
        "training batch before the first update (first seed of each variant; first layers).",
        figures=figures,
    )


def timelines_section(runs: list[dict[str, Any]]) -> Section | None:
    """Heatmaps of log10 r_k at the start, middle and end of training (one per variant)."""
    figures = []
    longest: dict[str, dict[str, Any]] = {}
    for run in _first_seed(runs):
        label = _label(run)
        if (run.get("seq_len") or 0) >= (longest.get(label, {}).get("seq_len") or 0):
            longest[label] = run
    for i, (label, run) in enumerate(list(longest.items())[:MAX_TIMELINES]):
        phases = run["record"].get("profiles") or {}
        steps: list[float] = []
        labels: list[str] = []
        rows: list[Curve] = []
        for phase in PHASES:
            entry = phases.get(phase) or {}
            curves = profile_curves(entry.get("profile"), readable=True)
            if curves:
                steps.append(number(entry.get("step")) or 0.0)
                labels.append(f"{phase} (step {entry.get('step')})")
                rows.append(curves[0])
        if len(rows) >= 2:
            title = f"Gradient through time during training: {label}, {run.get('task')} "
            title += f"T={run.get('seq_len')} ({rows[0].name})"
            figures.append(
                timeline_chart(steps, rows, key=f"timeline-{i}", title=title, labels=labels)
            )
    if not figures:
        return None
    return Section(
        "timelines",
        "Gradient through time across training",
        intro="Rows are the profiles taken at the start, middle and end of a run; colour is "
        "log10 r_k, so 0 means the gradient reaches lag k undiminished and -3 means it is "
        "1000 times weaker.",
        figures=figures,
    )


def loss_references(record: dict[str, Any]) -> tuple[float | None, float | None]:
    """(chance baseline, solve threshold) on the loss's scale for a run record.

    The baseline is the loss of the best input-blind predictor (the task's ``baseline_loss``);
    the threshold is drawn only when the task's metric is the training loss itself (its
    held-out metric equals its held-out loss), since a threshold on accuracy is not a loss.
    """
    baseline = threshold = None
    try:
        from gradtrace.tasks import make_task

        task = make_task(record.get("task_spec") or {})
        baseline = float(task.baseline_loss)
        metric, loss = number(record.get("metric")), number(record.get("eval_loss"))
        if metric is not None and loss is not None and abs(metric - loss) <= 1e-9 * abs(loss):
            threshold = float(task.threshold)
    except (ValueError, TypeError, KeyError):  # an old or foreign record: no reference lines
        pass
    return baseline, threshold


def losses_section(runs: list[dict[str, Any]]) -> Section | None:
    """Training loss against step per variant, with the chance baseline and solve threshold."""
    figures = []
    for i, ((task, seq_len), members) in enumerate(_by_task(runs).items()):
        curves = []
        baseline = threshold = None
        for run in members[:MAX_CURVES_PER_FIGURE]:
            record = run["record"]
            points = [p for p in as_list(record.get("loss_curve")) if len(as_list(p)) == 2]
            if points:
                steps = [number(p[0]) for p in points]
                curves.append((_label(run), steps, [number(p[1]) for p in points]))
            if baseline is None:
                baseline, threshold = loss_references(record)
        if curves:
            figures.append(
                loss_chart(
                    curves,
                    baseline=baseline,
                    threshold=threshold,
                    key=f"loss-{i}",
                    title=f"Loss: {task}, T={seq_len}",
                    y_log=True,  # early spikes and the final decades both stay readable
                )
            )
    if not figures:
        return None
    return Section("losses", "Loss curves", figures=figures)


def tuning_section(meta: dict[str, Any], runs: int) -> Section | None:
    """The learning rate chosen for each cell by the study's search (docs/protocol.md)."""
    lrs = meta.get("tuned_lrs")
    if not isinstance(lrs, dict) or not lrs:
        return None
    log = meta.get("tuning_log") or []
    rungs: defaultdict[Any, int] = defaultdict(int)
    for entry in log:
        rungs[entry.get("cell")] = max(rungs[entry.get("cell")], int(entry.get("rung", 0)) + 1)
    rows = []
    for key, lr in lrs.items():
        variant, task, seq_len = [*key.rsplit("|", 2), "", ""][:3]
        rows.append([variant, task, seq_len, f"{lr:g}", rungs.get(key, "")])
    return Section(
        "tuning",
        "Learning-rate tuning",
        intro=f"Each cell's learning rate was chosen by successive halving on held-out data "
        f"({runs} tuning runs on a held-out seed; docs/protocol.md).",
        tables=[Table("Chosen learning rates", ["variant", "task", "T", "lr", "rungs"], rows)],
    )


def study_document(folder: Path) -> Document:
    """The report of a study (or audit) folder."""
    store = folder / STORE_NAME
    data = load_store(store) if store.is_file() else {"runs": [], "meta": {}, "json": {}}
    # tuning runs (learning-rate search) are summarised by the tuning section, not charted
    runs = [r for r in data["runs"] if r.get("technique") != TUNING]
    tuning = len(data["runs"]) - len(runs)
    has_audit = bool(data["json"].get("audit"))
    kind = "audit" if has_audit and not runs else "study"
    doc = Document(title=folder.name, source=str(folder), kind=kind)
    doc.add(audit_section(data["json"].get("audit") or {}))
    doc.add(overview_section(runs))
    doc.add(tables_section(folder))
    doc.add(tuning_section(data["meta"], tuning))
    doc.add(profiles_section(runs))
    doc.add(timelines_section(runs))
    doc.add(losses_section(runs))
    doc.add(
        environment_section(
            meta=data["meta"], records=[r["record"] for r in runs if r.get("record")]
        )
    )
    return doc
