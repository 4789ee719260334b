"""Rich renderables for simulate's records (built here, printed only by the CLI)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gradtrace.simulate.decay import DecayTable
from gradtrace.simulate.formatting import format_log10, format_param, format_value
from gradtrace.simulate.layers import RULE, LayerGradients
from gradtrace.simulate.matrix import MatrixResult
from gradtrace.simulate.saturation import ActivationReport
from gradtrace.simulate.tour import TourPart

BAR_WIDTH = 32
_EIGHTHS = " ▏▎▍▌▋▊▉"
_VERDICT_STYLE = {
    "vanishing": "cyan",
    "exploding": "red",
    "stable": "green",
    "healthy": "green",
    "constant": "green",
    "non-finite": "magenta",
}


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``fraction`` (0..1) of ``width`` cells, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def styled(verdict: str) -> Text:
    """A verdict word in its colour."""
    return Text(verdict, style=_VERDICT_STYLE.get(verdict, ""))


def decay_renderable(table: DecayTable) -> Table:
    """gamma**k: one row per factor, one column per step count (and the steps-until column)."""
    out = Table(title="What is left of a signal after k steps at factor gamma (gamma^k)")
    out.add_column("gamma", justify="right")
    for k in table.steps:
        out.add_column(f"after {k}", justify="right")
    if table.eps is not None:
        out.add_column(f"crosses eps={format_param(table.eps)} at", justify="right")
    out.add_column("regime")
    for i, row in enumerate(table.rows):
        cells: list[str | Text] = [format_param(row.factor), *row.text]
        if table.eps is not None:
            found = table.until[i]
            cells.append("never" if found.steps is None else f"step {found.steps}")
        cells.append(styled(row.regime))
        out.add_row(*cells)
    return out


def layers_renderable(result: LayerGradients) -> Group:
    """Relative gradient by layer with bars (scaled to the largest), value and verdict."""
    top = max(layer.log10 for layer in result.layers)
    out = Table(
        title=f"Gradient by layer, w = {format_param(result.weight_scale)}: layer i gets w^(L-i)"
    )
    out.add_column("layer", justify="right")
    out.add_column("w^(L-i)", justify="right")
    out.add_column("gradient", justify="right")
    out.add_column("", no_wrap=True)
    for layer in result.layers:
        out.add_row(
            str(layer.layer),
            f"w^{layer.exponent}",
            layer.text,
            Text(bar(10.0 ** (layer.log10 - top)), style="cyan"),
        )
    verdict = Text(result.summary.rsplit(result.verdict, 1)[0])
    verdict.append(result.verdict, style=_VERDICT_STYLE[result.verdict])
    return Group(out, verdict, Text(f"Rule: {RULE}.", style="dim"))


def activations_renderable(report: ActivationReport) -> Group:
    """sup|phi'|, phi'(0) and E[phi'(a)] for a ~ N(0, sigma^2), one row per activation."""
    out = Table(title=Text("Activation slopes: largest, at 0, and mean E[phi'(a)], a ~ N(0, s^2)"))
    out.add_column("activation", no_wrap=True)
    out.add_column(Text("max phi'"), justify="right")
    out.add_column(Text("phi'(0)"), justify="right")
    for sigma in report.sigmas:
        out.add_column(f"s={format_param(sigma)}", justify="right")
    for row in report.rows:
        out.add_row(
            row.name,
            format_value(row.sup_derivative),
            format_value(row.at_zero),
            *(format_value(m) for m in row.mean),
        )
    slopes = [f"{r.name} {format_param(r.slope)}" for r in report.rows if r.slope is not None]
    notes = [
        "s=...: mean slope E[phi'(a)] for pre-activations a of standard deviation s.",
        "phi'(0) follows PyTorch: 0 for relu, the negative-side slope for leaky_relu and prelu.",
    ]
    if slopes:
        notes.append("Negative-side slopes: " + ", ".join(slopes) + ".")
    return Group(out, *(Text(note, style="dim") for note in notes))


def table_lags(steps: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to ``steps``, always ending with ``steps``."""
    lags, base = [], 1
    while base <= steps:
        lags.extend(k for k in (base, 2 * base, 5 * base) if k <= steps)
        base *= 10
    return sorted(set(lags) | {steps})


def matrix_renderable(result: MatrixResult) -> Group:
    """Norms of dh_T/dh_(T-k) at log-spaced lags against the bound, then the conditions."""
    p = result.params
    out = Table(
        title=(
            f"||dh_T/dh_(T-k)|| for h_t = {p.activation}(W h_(t-1) + U x_t + b): "
            f"H = {p.hidden_size}, {p.weights} W, rho = {format_param(p.rho)}"
        )
    )
    out.add_column("lag k", justify="right")
    out.add_column("norm", justify="right")
    out.add_column("bound (gamma_phi sigma_max)^k", justify="right")
    out.add_column("per step, (norm)^(1/k)", justify="right")
    bound = math.log10(result.bound_factor)
    for k in table_lags(len(result.log10_norms)):
        log10 = result.log10_norms[k - 1]
        per_step = format_value(10.0 ** (log10 / k)) if math.isfinite(log10) else "0"
        out.add_row(str(k), format_log10(log10), format_log10(k * bound), per_step)
    notes = [Text(f"- {line}") for line in result.conditions]  # Text: no markup parsing
    return Group(out, *notes)


def layers_side_by_side(results: Sequence[LayerGradients], width: int = 7) -> Table:
    """Several weight scales in one table: gradient and bar per layer, verdict per scale."""
    out = Table(title="Gradient by layer (layer i gets w^(L-i); the last layer gets 1)")
    out.add_column("layer", justify="right", min_width=7)
    for result in results:
        out.add_column(f"w = {format_param(result.weight_scale)}", justify="right", min_width=9)
        out.add_column("", no_wrap=True, min_width=width)
    tops = [max(layer.log10 for layer in r.layers) for r in results]
    for i in range(max(r.num_layers for r in results)):
        cells: list[str | Text] = [str(i + 1)]
        for result, top in zip(results, tops, strict=True):
            layer = result.layers[i] if i < result.num_layers else None
            cells.append(layer.text if layer else "")
            cells.append(Text(bar(10.0 ** (layer.log10 - top), width) if layer else "", "cyan"))
        out.add_row(*cells)
    cells = ["verdict"]
    for result in results:
        cells.extend([styled(result.verdict), ""])
    out.add_row(*cells, end_section=True)
    return out


def matrix_summary(results: Sequence[MatrixResult]) -> Table:
    """One row per run: rho, the bound factor and condition, gamma_hat, horizon, verdict."""
    p = results[0].params
    out = Table(
        title=(
            f"{p.activation} recurrence, {p.weights} W, H = {p.hidden_size}, T = {p.steps}: "
            "||dh_T/dh_(T-k)|| by rho"
        ),
        caption="bound/step = gamma_phi * sigma_max(W); gamma_hat = measured factor per step",
    )
    for name in ("rho", "bound/step", "Pascanu condition", "gamma_hat", "horizon", "verdict"):
        out.add_column(name, justify="left" if name == "Pascanu condition" else "right")
    for r in results:
        condition = (
            "vanishing guaranteed"
            if r.sufficient_vanishing
            else "exploding possible"
            if r.necessary_exploding
            else "borderline"
        )
        out.add_row(
            format_param(r.params.rho),
            format_value(r.bound_factor),
            condition,
            "-" if r.gamma_hat is None else format_value(r.gamma_hat),
            "beyond T" if r.horizon is None else str(r.horizon),
            styled(r.verdict),
        )
    return out


def renderable(record: object) -> RenderableType:
    """The default table of any simulate record."""
    if isinstance(record, DecayTable):
        return decay_renderable(record)
    if isinstance(record, LayerGradients):
        return layers_renderable(record)
    if isinstance(record, ActivationReport):
        return activations_renderable(record)
    if isinstance(record, MatrixResult):
        return matrix_renderable(record)
    from gradtrace.simulate.memory import MemoryResult, memory_renderable

    if isinstance(record, MemoryResult):
        return memory_renderable(record)
    raise TypeError(f"no table for {type(record).__name__}")


def tour_part_renderable(part: TourPart) -> Group:
    """A tour part: its title, what to notice, its table and where its figure went."""
    if part.name == "layers":
        table: RenderableType = layers_side_by_side(part.records)
    elif part.name == "matrix":
        table = matrix_summary(part.records)
    else:
        table = renderable(part.records[0])
    return Group(
        Text(part.title, style="bold"),
        Text(part.notice, style="italic"),
        table,
        Text(f"plot: {part.plot}", style="dim"),
    )
