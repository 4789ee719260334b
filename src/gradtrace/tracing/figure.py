"""Draw a GradientProfile with matplotlib: g against lag on a log scale, one line per layer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gradtrace.tracing.profile import GradientProfile


def plot_profile(profile: GradientProfile, *, path: Any = None, ax: Any = None) -> Any:
    """Plot ``profile`` on ``ax`` (or a new Agg Figure), save to ``path`` if given; -> Figure."""
    from matplotlib.figure import Figure

    if ax is None:
        figure = Figure(figsize=(7.0, 4.2), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    for layer in profile.layers:
        lags = np.arange(layer.seq_len)
        line = _positive_line(ax, lags, layer.by_lag, label=layer.name)
        if layer.g_cell is not None:
            cell = layer.g_cell.astype(np.float64)
            cell_by_lag = cell if layer.direction else cell[::-1]
            color = line.get_color() if line is not None else None
            _positive_line(
                ax, lags, cell_by_lag, label=f"{layer.name} (cell)", linestyle="--", color=color
            )
    ax.set_yscale("log")
    ax.set_xlabel("lag k (steps back from the layer's last step)")
    ax.set_ylabel("g = mean per-example ||dL/dh||")
    ax.set_title("Gradient reaching each step")
    ax.grid(True, which="both", alpha=0.3)
    if profile.layers:
        ax.legend(fontsize="small")
    if path is not None:
        figure.savefig(Path(path))
    return figure


def _positive_line(ax: Any, lags: np.ndarray, values: np.ndarray, **style: Any) -> Any:
    """Plot only the finite positive values (a log axis cannot show the others)."""
    shown = np.where(np.isfinite(values) & (values > 0), values, np.nan)
    if np.all(np.isnan(shown)):
        return None
    return ax.plot(lags, shown, **style)[0]
