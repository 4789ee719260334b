"""The study's tables, derived from stored runs: techniques, RNN vs LSTM vs GRU, success matrix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gradtrace.models.spec import FRONTIER_LABELS
from gradtrace.study.describe import limitation, lr_text, lrs_text, matrix_text, times
from gradtrace.study.expand import variants_of
from gradtrace.study.outcomes import Cell, group_cells, longest_solved, ratio
from gradtrace.study.spec import StudySpec
from gradtrace.study.store import FINISHED

CELL_NAMES = {"rnn": "Standard RNN", "lstm": "LSTM", "gru": "GRU", **FRONTIER_LABELS}
STRUCTURE = {
    "rnn": ("hidden state", "none"),
    "lstm": ("cell state + hidden state", "3 (input, forget, output)"),
    "gru": ("hidden state (merged)", "2 (reset, update)"),
    "indrnn": ("hidden state, element-wise recurrence", "none"),
    "exprnn": ("hidden state, orthogonal recurrence", "none"),
    "lru": ("complex diagonal linear state", "none"),
    "mingru": ("hidden state, linear in h", "1 (update, from the input)"),
    "minlstm": ("hidden state, linear in h", "2 (forget, input, from the input)"),
    "selective_ssm": ("(H, N) diagonal linear states", "input-dependent step Delta"),
}
TORCH_CELLS = ("rnn", "lstm", "gru")
MATRIX_LEGEND = (
    "✓ solved (median steps to solve, range over seeds) · unsolved: step budget spent (final "
    "metric) ⏱ out of time: the clock cap stopped it first (undecided) ✗ diverged ! failed "
    "… not run yet; k/n [lo-hi]: seeds solved, 95% Wilson interval"
)


@dataclass
class StudyTable:
    """A table for people (columns, rows of text) with machine-readable records behind it."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyTable:
        """Inverse of `to_dict`."""
        return cls(**data)


def build_tables(rows: list[dict[str, Any]], *, spec: StudySpec | None = None) -> list[StudyTable]:
    """The technique table, the RNN/LSTM/GRU table, the success matrix, published results."""
    context = _Context(rows, spec)
    return [
        technique_table(context),
        cell_table(context),
        success_matrix(context),
        published_table(context),
    ]


def study_tables(out_dir: str | Path) -> list[StudyTable]:
    """Tables of the study stored in ``out_dir`` (only the runs of its latest spec)."""
    from gradtrace.study.store import open_store
    from gradtrace.study.tuning import reported_runs

    with open_store(out_dir, readonly=True) as store:
        data = store.get_meta("spec")
        spec = StudySpec.model_validate(data) if data is not None else None
        lrs = store.get_meta("tuned_lrs")
        keys = [r.key for r in reported_runs(spec, lrs)] if spec is not None else None
        rows = store.rows(keys)
    return build_tables(rows, spec=spec)


class _Context:
    """Rows grouped every way the tables need them."""

    def __init__(self, rows: list[dict[str, Any]], spec: StudySpec | None) -> None:
        self.rows = rows
        self.cells = group_cells(rows)
        self.tasks = _unique(r["task"] for r in rows)
        order = [v.name for v in variants_of(spec)] if spec is not None else []
        self.variants = _unique(
            [
                *(v for v in order if any(r["variant"] == v for r in rows)),
                *(r["variant"] for r in rows),
            ]
        )
        self.model = {r["variant"]: r["config"]["model"] for r in rows}
        self.train = {r["variant"]: r["config"]["train"] for r in rows}
        self.technique = {r["variant"]: r.get("technique") or "" for r in rows}
        self.reference = self._reference(spec)
        self.tuned = spec is not None and spec.tune is not None

    def runs(self, variant: str, task: str | None = None) -> list[dict[str, Any]]:
        """Rows of ``variant`` (on ``task`` when given)."""
        return [r for r in self.rows if r["variant"] == variant and task in (None, r["task"])]

    def cells_of(self, variant: str, task: str) -> list[Cell]:
        """Cells of ``variant`` on ``task`` by increasing T."""
        found = [c for (t, v, _), c in self.cells.items() if t == task and v == variant]
        return sorted(found, key=lambda c: c.seq_len)

    def _reference(self, spec: StudySpec | None) -> str | None:
        if spec is not None and spec.reference in self.variants:
            return spec.reference
        plain = [v for v in self.variants if _is_plain(self.model[v], self.train[v], "rnn")]
        return (plain or self.variants or [None])[0]


def technique_table(ctx: _Context) -> StudyTable:
    """Each technique / variant: longest T solved, cost relative to the reference, limitation."""
    ref = ctx.reference
    columns = ["technique", "variant", *_per_task("longest T solved", ctx.tasks)]
    columns += _per_task("learning rate", ctx.tasks)
    columns += [f"time/step vs {ref}", f"memory vs {ref}", "limitation observed"]
    rows, records = [], []
    for variant in ctx.variants:
        longest = {t: longest_solved(ctx.cells_of(variant, t)) for t in ctx.tasks}
        time_x = ratio(ctx.runs(variant), ctx.runs(ref), "time_per_step_s") if ref else None
        mem_x = ratio(ctx.runs(variant), ctx.runs(ref), "step_memory_mb") if ref else None
        notes = [
            limitation(ctx.cells_of(variant, t), task=t if len(ctx.tasks) > 1 else None)
            for t in ctx.tasks
        ]
        costs = [
            f"{x:.1f}x {what}"
            for x, what in ((time_x, "time per step"), (mem_x, "memory"))
            if x is not None and x >= 1.5
        ]
        text = "; ".join(n for n in [*notes, *costs] if n)
        rows.append(
            [
                ctx.technique[variant],
                variant,
                *(_longest_text(longest[t], ctx.cells_of(variant, t)) for t in ctx.tasks),
                *(lrs_text(ctx.cells_of(variant, t)) for t in ctx.tasks),
                times(time_x),
                times(mem_x),
                text,
            ]
        )
        records.append(
            {
                "technique": ctx.technique[variant],
                "variant": variant,
                "longest_solved": longest,
                "time_per_step_ratio": time_x,
                "memory_ratio": mem_x,
                "limitation": text,
            }
        )
    notes = [
        f"cost ratios: median over matching runs (task, T, seed) of the variant against {ref}",
        "memory: tensors kept for backward plus parameters, gradients and Adam state",
    ]
    return StudyTable(
        "technique",
        "Techniques against vanishing and exploding gradients",
        columns,
        rows,
        notes,
        records,
    )


def cell_table(ctx: _Context) -> StudyTable:
    """Standard RNN vs LSTM vs GRU (and the frontier cells present), measured.

    Parameters, time per step, longest T solved; ratios are against the standard RNN, or the
    LSTM in a study without one.
    """
    chosen = {}
    for kind in CELL_NAMES:
        candidates = [v for v in ctx.variants if ctx.model[v]["cell"] == kind]
        plain = [v for v in candidates if _is_plain(ctx.model[v], ctx.train[v], kind)]
        default = [v for v in plain if ctx.model[v]["init"] == "default"]
        if candidates:
            chosen[kind] = (default or plain or candidates)[0]
    kinds = list(chosen)
    columns = ["", *(CELL_NAMES[k] for k in kinds)]
    primary = ctx.tasks[0] if ctx.tasks else None
    base_kind = next((k for k in ("rnn", "lstm") if k in chosen), None)
    base = chosen.get(base_kind) if base_kind else None
    shared_t = _largest_common_t(ctx, [chosen[k] for k in kinds], primary)
    per_step = {k: _median_at(ctx, chosen[k], primary, shared_t, "time_per_step_s") for k in kinds}
    records = {k: {"cell": k, "variant": chosen[k]} for k in kinds}
    table: list[list[str]] = [["variant", *(chosen[k] for k in kinds)]]
    table.append(["state", *(STRUCTURE[k][0] for k in kinds)])
    table.append(["gates", *(STRUCTURE[k][1] for k in kinds)])
    params = {k: _first(ctx.runs(chosen[k], primary), "n_params") for k in kinds}
    table.append([f"parameters ({primary})", *(_int_text(params[k]) for k in kinds)])
    table.append(
        [
            f"learning rate ({primary})",
            *(lrs_text(ctx.cells_of(chosen[k], primary)) if primary else "n/a" for k in kinds),
        ]
    )
    table.append([f"time per step at T={shared_t} (ms)", *(_ms(per_step[k]) for k in kinds)])
    for column, label in (("time_per_step_s", "time per step"), ("step_memory_mb", "memory")):
        label = f"{label} vs {CELL_NAMES[base_kind or 'rnn']}"
        values = {
            k: ratio(ctx.runs(chosen[k]), ctx.runs(base), column) if base else None for k in kinds
        }
        table.append([label, *(times(values[k]) for k in kinds)])
        for k in kinds:
            records[k][column.removesuffix("_s").removesuffix("_mb") + "_ratio"] = values[k]
    for task in ctx.tasks:
        longest = {k: longest_solved(ctx.cells_of(chosen[k], task)) for k in kinds}
        table.append(
            [
                f"longest T solved ({task})",
                *(_longest_text(longest[k], ctx.cells_of(chosen[k], task)) for k in kinds),
            ]
        )
        for k in kinds:
            records[k].setdefault("longest_solved", {})[task] = longest[k]
    for k in kinds:
        records[k].update(n_params=params[k], time_per_step_s=per_step[k], at_seq_len=shared_t)
    notes = [
        "parameters counted; times measured on this study's runs; ratios as in the technique table"
    ]
    title = "Standard RNN vs LSTM vs GRU (measured)"
    if any(k not in TORCH_CELLS for k in kinds):
        title = "Standard RNN vs LSTM vs GRU and the frontier cells (measured)"
    return StudyTable(
        "rnn_lstm_gru",
        title,
        columns,
        table,
        notes,
        [records[k] for k in kinds],
    )


def success_matrix(ctx: _Context) -> StudyTable:
    """Variant x T per task: steps to solve, or a mark for unsolved / diverged / failed."""
    lengths = sorted({c.seq_len for c in ctx.cells.values()})
    columns = ["task", "variant", *(f"T={t}" for t in lengths)]
    rows, records = [], []
    for task in ctx.tasks:
        for variant in ctx.variants:
            cells = {c.seq_len: c for c in ctx.cells_of(variant, task)}
            if not cells:
                continue
            rows.append(
                [
                    task,
                    variant,
                    *(
                        matrix_text(cells[t], show_lr=ctx.tuned) if t in cells else ""
                        for t in lengths
                    ),
                ]
            )
            records += [_cell_record(c) for c in cells.values()]
    return StudyTable(
        "success_matrix",
        "Success matrix: architecture x sequence length",
        columns,
        rows,
        [MATRIX_LEGEND, _lr_note(ctx)],
        records,
    )


def published_table(ctx: _Context) -> StudyTable:
    """Each published outcome (gradtrace/data/literature.toml) next to the matching cell."""
    from gradtrace.study.literature import compare, literature

    found = compare(list(ctx.cells.values()), literature())
    marks = {True: "agrees", False: "differs", None: "undecided"}
    rows = [
        [
            _short_citation(f["citation"]),
            f["task"],
            str(f["seq_len"]),
            f["variant"],
            f["published"],
            f["study"],
            marks[f["agrees"]],
            f["reason"],
        ]
        for f in found
    ]
    agree = sum(f["agrees"] is True for f in found)
    notes = [
        f"{agree} of {len(found)} matching cells agree with the published outcome "
        "(sources and how each was checked: gradtrace/data/literature.toml)"
    ]
    columns = ["source", "task", "T", "variant", "published", "this study", "", "likely reason"]
    return StudyTable("published", "Published results side by side", columns, rows, notes, found)


def _short_citation(citation: str) -> str:
    """ "Le, Jaitly & Hinton (2015), A Simple Way ..." -> "Le, Jaitly & Hinton (2015)"."""
    head, paren, _ = citation.partition(")")
    return head + paren if paren else citation


def _lr_note(ctx: _Context) -> str:
    if ctx.tuned:
        return "lr: the learning rate tuned for the cell (docs/protocol.md), used by every seed"
    lrs = sorted({lr for c in ctx.cells.values() for lr in c.lrs})
    return "learning rate: " + (", ".join(lr_text(v) for v in lrs) or "n/a")


def _cell_record(cell: Cell) -> dict[str, Any]:
    return {
        "task": cell.task,
        "variant": cell.variant,
        "seq_len": cell.seq_len,
        "outcome": cell.outcome,
        "runs": len(cell.statuses),
        **{s: cell.count(s) for s in (*FINISHED, "pending")},
        "success_interval_95": list(cell.success_interval),
        "lr": cell.lrs[0] if len(cell.lrs) == 1 else cell.lrs,
        "median_steps_to_solve": cell.median("steps_to_solve", status="solved"),
        "steps_to_solve_range": list(span) if (span := cell.steps_range()) else None,
        "median_metric": cell.median("metric"),
        "median_time_per_step_s": cell.median("time_per_step_s"),
        "median_step_memory_mb": cell.median("step_memory_mb"),
    }


def _per_task(label: str, tasks: list[str]) -> list[str]:
    return [label] if len(tasks) == 1 else [f"{label} ({t})" for t in tasks]


def _is_plain(model: dict[str, Any], train: dict[str, Any], cell: str) -> bool:
    return (
        model["cell"] == cell
        and model["activation"] == "tanh"
        and not model["residual"]
        and not model["layer_norm"]
        and model["readout"] == "last"
        and train.get("tbptt") is None
    )


def _largest_common_t(ctx: _Context, variants: list[str], task: str | None) -> int | None:
    sets = [{r["seq_len"] for r in ctx.runs(v, task) if r.get("time_per_step_s")} for v in variants]
    common = set.intersection(*sets) if sets else set()
    return max(common) if common else None


def _median_at(ctx: _Context, variant: str, task: str | None, t: int | None, column: str) -> Any:
    cell = ctx.cells.get((task, variant, t)) if task is not None and t is not None else None
    return cell.median(column) if cell else None


def _first(rows: list[dict[str, Any]], column: str) -> Any:
    return next((r[column] for r in rows if r.get(column) is not None), None)


def _longest_text(longest: int | None, cells: list[Cell]) -> str:
    finished = [c for c in cells if c.finished]
    if not finished:
        return "…"
    if longest is None:
        return "none"
    return f"{longest} (all)" if all(c.solved for c in finished) else str(longest)


def _int_text(value: Any) -> str:
    return "n/a" if value is None else f"{int(value):,}"


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{1000 * seconds:.1f}"


def _unique(values: Any) -> list[Any]:
    return list(dict.fromkeys(values))
