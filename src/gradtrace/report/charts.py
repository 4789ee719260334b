"""Build FigureSpecs from measured data: g against lag, profiles over training, losses, spectra."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gradtrace.flow import by_lag, relative_profile
from gradtrace.report.records import Curve
from gradtrace.report.spec import FigureSpec, Heatmap, HLine, Series, clean, color


def profile_chart(
    configs: Sequence[tuple[str, Sequence[Curve]]],
    *,
    key: str = "profile",
    title: str = "Gradient norm against lag",
    relative: bool = False,
    cell: bool = True,
    eps: float | None = None,
) -> FigureSpec:
    """g_{T-k} (or r_k) against lag k on a log scale, one line per configuration and layer.

    LSTM cell-state norms dL/dc_t are drawn dashed in the layer's colour when `cell` is True.
    """
    series: list[Series] = []
    index = 0
    for label, curves in configs:
        for curve in curves:
            name = label if len(curves) == 1 else f"{label} · {curve.name}"
            name = name or curve.name
            values = relative_profile(curve.g) if relative else by_lag(curve.g)
            lags = list(range(values.size))
            c = color(index)
            series.append(Series(name, lags, clean(values), color=c, group=name))
            if cell and curve.g_cell is not None and curve.g_cell.size:
                cell_values = relative_profile(curve.g_cell) if relative else by_lag(curve.g_cell)
                series.append(
                    Series(
                        f"{name} (cell)", lags, clean(cell_values), color=c, dash=True, group=name
                    )
                )
            index += 1
    hlines = (HLine(eps, f"eps = {eps:g}"),) if relative and eps else ()
    return FigureSpec(
        key=key,
        title=title,
        x_title="lag k = T - t (steps back from the loss)",
        y_title="r_k = g_{T-k} / g_T" if relative else "g_{T-k} = mean ||dL/dh_t||",
        y_log=True,
        series=tuple(series),
        hlines=hlines,
    )


def timeline_chart(
    steps: Sequence[float],
    curves: Sequence[Curve],
    *,
    key: str = "timeline",
    title: str = "Gradient through time across training",
    labels: Sequence[str] | None = None,
) -> FigureSpec:
    """A heatmap of log10 r_k: rows are training steps, columns are lags (one layer)."""
    rows = [relative_profile(c.g) for c in curves]
    width = max((r.size for r in rows), default=0)
    z: list[list[float | None]] = []
    for r in rows:
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(r)
        padded = np.full(width, math.nan)
        padded[: logs.size] = logs
        z.append(clean(padded))
    return FigureSpec(
        key=key,
        title=title,
        x_title="lag k",
        y_title="training step",
        heatmap=Heatmap(
            x=list(range(width)),
            y=[float(s) for s in steps],
            z=z,
            colorbar="log10 r_k",
            y_labels=list(labels) if labels else None,
        ),
        height=max(260, min(520, 140 + 40 * len(rows))),
    )


def loss_chart(
    runs: Sequence[tuple[str, Sequence[float | None], Sequence[float | None]]],
    *,
    baseline: float | None = None,
    threshold: float | None = None,
    key: str = "loss",
    title: str = "Training loss",
    y_title: str = "loss",
    y_log: bool = False,
) -> FigureSpec:
    """Loss (or any metric) against training step per run, with the chance baseline and the
    solve threshold as reference lines, and a y-range that an early spike cannot squash."""
    series = tuple(
        Series(label, clean(steps), clean(values), color=color(i))
        for i, (label, steps, values) in enumerate(runs)
    )
    hlines: tuple[HLine, ...] = ()
    if baseline is not None:
        hlines += (HLine(baseline, f"chance baseline {baseline:.4g}"),)
    if threshold is not None:
        hlines += (HLine(threshold, f"solve threshold {threshold:.4g}", color="#117733"),)
    references = [h.y for h in hlines]
    return FigureSpec(
        key=key,
        title=title,
        x_title="training step",
        y_title=y_title,
        y_log=y_log,
        series=series,
        hlines=hlines,
        y_range=robust_range([v for _, _, values in runs for v in values], references, y_log),
    )


def robust_range(
    values: Sequence[float | None], references: Sequence[float], log: bool
) -> tuple[float, float] | None:
    """A y-range from the 2nd to the 98th percentile of the values, widened to include every
    reference line and padded (by 10% of the span, or a quarter decade on a log axis)."""
    data = np.array([v for v in values if v is not None], dtype=np.float64)
    data = data[np.isfinite(data) & ((data > 0) if log else True)]
    if data.size < 5:
        return None
    lo, hi = np.percentile(data, [2, 98])
    keep = [r for r in references if math.isfinite(r) and (r > 0 or not log)]
    lo, hi = min([lo, *keep]), max([hi, *keep])
    if log:
        return (lo / 10**0.25, hi * 10**0.25)
    pad = 0.1 * (hi - lo) or 0.1 * abs(hi) or 1.0
    return (lo - pad, hi + pad)


def spectrum_chart(
    matrices: Sequence[tuple[str, Sequence[complex]]],
    *,
    key: str = "spectrum",
    title: str = "Eigenvalues of the recurrent matrices",
) -> FigureSpec:
    """Eigenvalues in the complex plane against the unit circle |lambda| = 1."""
    theta = np.linspace(0.0, 2.0 * math.pi, 181)
    circle = Series(
        "unit circle", clean(np.cos(theta)), clean(np.sin(theta)), color="#9ca3af", dash=True
    )
    series = [circle]
    for i, (name, eigs) in enumerate(matrices):
        values = np.asarray(list(eigs), dtype=np.complex128)
        hover = [f"{v.real:.3f}{v.imag:+.3f}i, |λ| = {abs(v):.3f}" for v in values]
        series.append(
            Series(
                name,
                clean(values.real),
                clean(values.imag),
                mode="markers",
                color=color(i),
                hover=hover,
            )
        )
    return FigureSpec(
        key=key,
        title=title,
        x_title="Re λ",
        y_title="Im λ",
        series=tuple(series),
        equal_aspect=True,
    )
