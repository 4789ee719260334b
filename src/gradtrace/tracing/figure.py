"""Draw a GradientProfile with matplotlib: g against lag on a log scale, one line per layer.

Lags where g underflowed to zero (a log axis cannot show them) are marked with a "v" at the
bottom of the axes and named in the legend, rather than left blank. The figure shows once in a
notebook (see gradtrace.inline); ``path`` picks the format from its extension (PNG at 200 dpi,
SVG, PDF).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gradtrace.plotting import color, dash, figure_format, save_figure

if TYPE_CHECKING:
    from gradtrace.tracing.profile import GradientProfile


def plot_profile(profile: GradientProfile, *, path: Any = None, ax: Any = None) -> Any:
    """Plot ``profile`` on ``ax`` (or a new Figure), save to ``path`` if given; -> Figure."""
    from gradtrace.inline import new_figure, show_once

    if path is not None:
        figure_format(path)  # a bad extension fails before any drawing
    own = ax is None
    if own:
        figure = new_figure(figsize=(7.0, 4.2))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    underflow: list[str] = []
    for i, layer in enumerate(profile.layers):
        lags = np.arange(layer.seq_len)
        style = {"color": color(i), "linestyle": dash(i)}
        _positive_line(ax, lags, layer.by_lag, label=layer.name, **style)
        if _underflow_marks(ax, lags, layer.by_lag, style["color"]):
            underflow.append(layer.name)
        if layer.g_cell is not None:
            cell = layer.g_cell.astype(np.float64)
            cell_by_lag = cell if layer.direction else cell[::-1]
            _positive_line(
                ax, lags, cell_by_lag, label=f"{layer.name} (cell)", linestyle=":", color=color(i)
            )
    ax.set_yscale("log")
    ax.set_xlabel(r"lag $k$ (steps back from the layer's last step)")
    ax.set_ylabel(r"$g_{T-k}$ = mean per-example $\|\partial L/\partial h_t\|$")
    ax.set_title("Gradient reaching each step")
    ax.grid(True, which="both", alpha=0.3)
    if underflow:
        ax.plot([], [], "v", color="#555555", label="g underflowed to 0 (not drawable on log axis)")
    if profile.layers:
        ax.legend(fontsize="small")
    if path is not None:
        save_figure(figure, path)
    return show_once(figure) if own else figure


def _positive_line(ax: Any, lags: np.ndarray, values: np.ndarray, **style: Any) -> Any:
    """Plot only the finite positive values (a log axis cannot show the others)."""
    shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    if np.all(np.isnan(shown)):
        return None
    return ax.plot(lags, shown, **style)[0]


def _underflow_marks(ax: Any, lags: np.ndarray, values: np.ndarray, colour: str) -> bool:
    """Mark the lags where g is exactly 0 with "v" at the bottom edge; True when any."""
    zero = np.asarray(values) == 0
    if not zero.any():
        return False
    # x in data coordinates, y in axes coordinates: the marks sit on the bottom edge.
    ax.plot(
        lags[zero],
        np.full(int(zero.sum()), 0.01),
        "v",
        color=colour,
        markersize=4,
        transform=ax.get_xaxis_transform(),
        clip_on=False,
    )
    return True
