"""Notebook and console display of result objects: short tables, never walls of numpy arrays.

Each result class gets three one-line methods that call this module: ``_repr_html_`` (Jupyter),
``__rich__`` (Rich consoles, ``rich.print``) and ``__repr__`` (one line). Every display is built
from one :class:`Summary` (a title, a few columns, at most :data:`MAX_ROWS` rows and notes), so
the HTML and the console show the same numbers.

In a notebook:

- ``profile`` (or ``diagnosis``, ``spec``, ``monitor``, ...) as the last line of a cell shows
  one short table;
- ``profile.plot()`` and ``fig = profile.plot()`` show the figure once (see
  :mod:`gradtrace.inline`);
- ``monitor.summary()`` prints the table and returns None (so it shows once); ``monitor`` alone
  shows the same table as HTML.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel
    from rich.table import Table

    from gradtrace.diagnosis.diagnosing import Diagnosis
    from gradtrace.diagnosis.probing import ProbeResult
    from gradtrace.monitor.monitor import Monitor
    from gradtrace.simulate.decay import DecayTable
    from gradtrace.simulate.layers import LayerGradients
    from gradtrace.simulate.matrix import MatrixResult
    from gradtrace.simulate.saturation import ActivationReport
    from gradtrace.tracing.profile import GradientProfile, LayerProfile
    from gradtrace.training.record import RunRecord

MAX_ROWS = 12  # rows shown before "... N more"
_STYLE = (
    "border-collapse:collapse;font-family:ui-monospace,monospace;font-size:12px;"
    "margin:4px 0;text-align:right"
)


def num(value: Any) -> str:
    """A number in 3 significant digits; None as '-', non-finite as 'nan' / 'inf'."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"


# a RecurrentNet layer: fused (layers.0.l0), loop (layers.0) or a declared cell (layers.0.cell)
_OWN_LAYER = re.compile(r"^layers\.(\d+)(?:\.l0|\.cell)?(\.reverse)?$")


def readable_layer(name: str) -> str:
    """gradtrace's own RecurrentNet layer names read as words: ``layers.0.l0`` -> ``layer 1``.

    Only for models gradtrace built itself (probe, study); a user's module paths are kept.
    """
    found = _OWN_LAYER.match(name)
    if found is None:
        return name
    return f"layer {int(found.group(1)) + 1}" + (" (reverse)" if found.group(2) else "")


def _horizon(lag: int | None) -> str:
    return "beyond T" if lag is None else str(lag)


@dataclass(frozen=True)
class Summary:
    """A short table: title, column names, rows of text, and notes under it."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()

    def _shown(self) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        rows, notes = self.rows[:MAX_ROWS], self.notes
        if len(self.rows) > MAX_ROWS:
            notes = (f"... {len(self.rows) - MAX_ROWS} more rows", *notes)
        return rows, notes

    def html(self) -> str:
        """An HTML table (escaped), for ``_repr_html_``."""
        rows, notes = self._shown()
        esc = html.escape
        cell = "padding:1px 8px;border-bottom:1px solid #e5e7eb"
        head = "".join(f'<th style="{cell}">{esc(c)}</th>' for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f'<td style="{cell}">{esc(v)}</td>' for v in row) + "</tr>"
            for row in rows
        )
        caption = f'<caption style="text-align:left;font-weight:bold">{esc(self.title)}</caption>'
        foot = "".join(f'<div style="font-size:12px;color:#4b5563">{esc(n)}</div>' for n in notes)
        return (
            f'<div class="gradtrace"><table style="{_STYLE}">{caption}<thead><tr>{head}'
            f"</tr></thead><tbody>{body}</tbody></table>{foot}</div>"
        )

    def rich(self) -> Table:
        """A Rich table, for ``__rich__``."""
        from rich.table import Table

        rows, notes = self._shown()
        table = Table(title=self.title, title_justify="left", caption_justify="left")
        for i, column in enumerate(self.columns):
            if i == 0:
                table.add_column(column, justify="left", no_wrap=True)
            else:
                table.add_column(column, justify="right", overflow="fold")
        for row in rows:
            table.add_row(*row)
        if notes:
            table.caption = "\n".join(notes)
        return table


def _rows(rows: Iterable[Sequence[Any]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(num(v) for v in row) for row in rows)


def _layer_row(layer: LayerProfile, eps: float) -> tuple[Any, ...]:
    lagged = layer.by_lag
    return (
        layer.name,
        layer.kind,
        layer.seq_len,
        float(lagged[0]) if lagged.size else None,
        float(lagged[-1]) if lagged.size else None,
        layer.decay_factor,
        _horizon(layer.horizon(eps)),
        layer.verdict(eps),
    )


_LAYER_COLUMNS = ("layer", "kind", "T", "g_T", "g_1", "gamma_hat", "horizon", "verdict")


def profile_summary(profile: GradientProfile, eps: float | None = None) -> Summary:
    """One row per traced layer: T, end-point norms, gamma_hat, horizon and verdict."""
    from gradtrace.flow import DEFAULT_EPS

    eps = DEFAULT_EPS if eps is None else eps
    rows = _rows(_layer_row(layer, eps) for layer in profile.layers)
    title = f"GradientProfile: {len(profile.layers)} layer(s), verdict {profile.verdict(eps)}"
    notes = (f"eps = {eps:g}; g_T: gradient at the last step, g_1 at the first",)
    return Summary(title, _LAYER_COLUMNS, rows, notes)


def layer_summary(layer: LayerProfile) -> Summary:
    """The layer's row of :func:`profile_summary`."""
    from gradtrace.flow import DEFAULT_EPS

    row = _rows([_layer_row(layer, DEFAULT_EPS)])
    return Summary(f"LayerProfile {layer.name}", _LAYER_COLUMNS, row)


def profile_repr(profile: GradientProfile) -> str:
    """One line: the number of layers, T and the verdict, with each layer's gamma_hat."""
    parts = [f"{lay.name!r} gamma_hat={num(lay.decay_factor)}" for lay in profile.layers[:3]]
    more = f", +{len(profile.layers) - 3} more" if len(profile.layers) > 3 else ""
    seq = profile.layers[0].seq_len if profile.layers else 0
    return (
        f"GradientProfile({len(profile.layers)} layers, T={seq}, "
        f"verdict={profile.verdict()!r}: {', '.join(parts)}{more})"
    )


def layer_repr(layer: LayerProfile) -> str:
    """One line: name, kind, T, gamma_hat, horizon and verdict (no arrays)."""
    return (
        f"LayerProfile(name={layer.name!r}, kind={layer.kind!r}, T={layer.seq_len}, "
        f"gamma_hat={num(layer.decay_factor)}, horizon={_horizon(layer.horizon())}, "
        f"verdict={layer.verdict()!r})"
    )


def diagnosis_summary(diagnosis: Diagnosis) -> Summary:
    """The profile's rows plus the spectra, the top Lyapunov exponent and the advice as notes."""
    d = diagnosis
    rows = _rows(_layer_row(layer, d.eps) for layer in d.judged_profile.layers)
    notes = [f"T = {d.seq_len}, eps = {d.eps:g}, loss = {num(d.loss)}"]
    if d.signal_profile is not None:
        notes.append("rows: one late loss term, as the verdict; the loss given:")
        for layer in d.profile.layers:
            h = layer.horizon(d.eps)
            notes.append(
                f"{layer.name}: gamma_hat {num(layer.decay_factor)}, "
                f"{'horizon beyond T' if h is None else f'horizon {h}'}, {layer.verdict(d.eps)}"
            )
    for s in d.spectra[:4]:
        gate = "" if s.gate == "h" else f" [{s.gate}]"
        notes.append(
            f"{s.name}{gate}: spectral radius {num(s.spectral_radius)}, "
            f"largest singular value {num(s.max_singular)}"
        )
    for dyn in d.lyapunov[:4]:
        notes.append(f"{dyn.name}: top Lyapunov exponent {num(dyn.top_exponent)} per step")
    for sens in d.sensitivity[:4]:
        flag = (
            " (over-sensitive: curse of memory)"
            if sens.over_sensitive(d.sensitivity_threshold)
            else ""
        )
        notes.append(
            f"{sens.name}: parameter sensitivity {num(sens.ratio)}x recurrent vs input{flag}"
        )
    for r in d.recommendations:
        notes.append(f"[{r.code}] {r.finding} -> {r.advice}")
    return Summary(f"Diagnosis: {d.verdict}", _LAYER_COLUMNS, rows, tuple(notes))


def diagnosis_repr(diagnosis: Diagnosis) -> str:
    """One line: verdict, T, eps, loss, layer names and advice codes."""
    d = diagnosis
    codes = [r.code for r in d.recommendations]
    return (
        f"Diagnosis(verdict={d.verdict!r}, T={d.seq_len}, eps={d.eps:g}, loss={num(d.loss)}, "
        f"layers={d.profile.names}, recommendations={codes})"
    )


def probe_summary(result: ProbeResult) -> Summary:
    """r_k at a few lags, then gamma_hat, horizon and verdict of one probe."""
    rows = _rows(zip(result.lags, result.g, result.relative, strict=True))
    notes = (
        f"gamma_hat {num(result.gamma_hat)}: {result.sentence(50)}",
        f"horizon {_horizon(result.horizon)} of T = {result.spec.seq_len}; "
        f"verdict {result.verdict}; {readable_layer(result.layer)}",
    )
    return Summary(f"probe {result.label}", ("lag k", "g_{T-k}", "r_k"), rows, notes)


def probe_repr(result: ProbeResult) -> str:
    """One line: label, gamma_hat, horizon and verdict."""
    return (
        f"ProbeResult(label={result.label!r}, gamma_hat={num(result.gamma_hat)}, "
        f"horizon={_horizon(result.horizon)}, verdict={result.verdict!r})"
    )


def spec_summary(spec: BaseModel) -> Summary:
    """A frozen spec's fields and values; fields set explicitly are marked with *."""
    chosen = spec.model_fields_set
    rows = tuple(
        (name + (" *" if name in chosen else ""), _short(getattr(spec, name)))
        for name in type(spec).model_fields
    )
    return Summary(type(spec).__name__, ("field", "value"), rows, ("* set explicitly",))


def _short(value: Any, limit: int = 60) -> str:
    text = num(value) if isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decay_summary(table: DecayTable) -> Summary:
    """gamma**k per factor and step count, with the regime (and steps until eps when asked)."""
    columns = ("gamma", *(f"after {k}" for k in table.steps), "regime")
    rows = [(num(row.factor), *row.text, row.regime) for row in table.rows]
    if table.until:
        columns = (*columns, f"steps to {table.eps:g}")
        rows = [(*row, num(u.steps)) for row, u in zip(rows, table.until, strict=True)]
    return Summary("DecayTable: gamma**k", columns, tuple(tuple(r) for r in rows))


def decay_repr(table: DecayTable) -> str:
    """One line: factors, steps and eps."""
    return f"DecayTable(factors={table.factors}, steps={table.steps}, eps={table.eps})"


def matrix_summary(result: MatrixResult) -> Summary:
    """The Jacobian-product simulation: bound, spectra, gamma_hat, horizon, verdict."""
    p = result.params
    norms = result.log10_norms
    picks = [k for k in (1, 10, 100, len(norms)) if k <= len(norms)]
    rows = tuple((f"||J product|| at k={k}", f"1e{norms[k - 1]:.3g}") for k in dict.fromkeys(picks))
    head = (
        ("gamma_hat", num(result.gamma_hat)),
        ("horizon", _horizon(result.horizon)),
        ("verdict", result.verdict),
        ("spectral radius of W", num(result.spectral_radius)),
        ("sigma_max(W) * sup|phi'|", num(result.bound_factor)),
    )
    title = f"MatrixResult: H={p.hidden_size}, T={p.steps}, {p.weights}, {p.activation}"
    return Summary(title, ("quantity", "value"), head + rows, tuple(result.conditions))


def matrix_repr(result: MatrixResult) -> str:
    """One line: sizes, gamma_hat, horizon and verdict (not the T norms)."""
    p = result.params
    return (
        f"MatrixResult(H={p.hidden_size}, T={p.steps}, weights={p.weights!r}, "
        f"gamma_hat={num(result.gamma_hat)}, horizon={_horizon(result.horizon)}, "
        f"verdict={result.verdict!r})"
    )


def monitor_html(monitor: Monitor) -> str:
    """The monitor's summary table (what ``monitor.summary()`` prints) as HTML."""
    import io

    from rich.console import Console

    from gradtrace.monitor.summary import summary_table

    console = Console(record=True, width=110, file=io.StringIO(), force_jupyter=False)
    console.print(summary_table(monitor.history))
    return console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")


def monitor_rich(monitor: Monitor) -> Table:
    """The monitor's summary table."""
    from gradtrace.monitor.summary import summary_table

    return summary_table(monitor.history)


def monitor_repr(monitor: Monitor) -> str:
    """One line: steps, layers, alerts and whether monitoring is on."""
    history = monitor.history
    return (
        f"Monitor(steps={history.totals.steps}, layers={len(history.layers())}, "
        f"alerts={len(history.alerts)}, enabled={monitor.enabled})"
    )


def layers_summary(result: LayerGradients) -> Summary:
    """The gradient reaching each layer relative to the last layer's, and the verdict."""
    rows = tuple((str(g.layer), str(g.exponent), g.text) for g in result.layers)
    return Summary(result.summary, ("layer", "exponent", "w**exponent"), rows)


def layers_repr(result: LayerGradients) -> str:
    """One line: w, L and the verdict."""
    return (
        f"LayerGradients(w={result.weight_scale:g}, layers={result.num_layers}, "
        f"verdict={result.verdict!r})"
    )


def activations_summary(report: ActivationReport) -> Summary:
    """sup |phi'|, phi'(0) and E phi'(a) for each sigma, one row per activation."""
    columns = ("activation", "sup φ'", "φ'(0)", *(f"σ={s:g}" for s in report.sigmas))
    rows = _rows((r.name, r.sup_derivative, r.at_zero, *r.mean) for r in report.rows)
    notes = ("σ=s columns: E φ'(a) for a ~ N(0, s²)",)
    return Summary("ActivationReport: derivatives", columns, rows, notes)


def activations_repr(report: ActivationReport) -> str:
    """One line: the activations and the sigmas."""
    return f"ActivationReport(names={report.names}, sigmas={report.sigmas})"


def run_summary(record: RunRecord) -> Summary:
    """A run's outcome and cost: status, steps, metric against baseline, time, parameters."""
    rows = (
        ("status", record.status),
        ("steps (to solve)", f"{record.steps} ({num(record.steps_to_solve)})"),
        (f"{record.metric_name} (best)", f"{num(record.metric)} ({num(record.best_metric)})"),
        ("chance baseline", num(record.baseline)),
        ("final loss", num(record.final_loss)),
        ("time per step (s)", num(record.time_per_step_s)),
        ("parameters", str(record.n_params)),
        ("clip rate", num(record.clip_rate)),
    )
    model, task = record.model_spec, record.task_spec
    title = f"RunRecord: {model.get('cell')} on {task.get('name')} T={task.get('seq_len')}"
    notes = (f"error: {record.error}",) if record.error else ()
    return Summary(title, ("", "value"), rows, notes)


def run_repr(record: RunRecord) -> str:
    """One line: status, steps, metric and wall time (not the curves)."""
    return (
        f"RunRecord(status={record.status!r}, steps={record.steps}, "
        f"{record.metric_name}={num(record.metric)}, wall_time_s={num(record.wall_time_s)})"
    )
