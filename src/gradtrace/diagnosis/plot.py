"""plot_probes(): the relative gradient r_k against lag for several probes, log scale.

The format follows the file's extension (.png at 200 dpi, .svg, .pdf).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gradtrace.diagnosis.probing import ProbeResult
from gradtrace.plotting import color, dash, save_figure


def plot_probes(results: list[ProbeResult], path: str | Path, *, title: str | None = None) -> Path:
    """Draw r_k against lag k, one line per probe labelled with its spec; returns the path."""
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    eps = None
    for i, result in enumerate(results):
        r = result.curve()
        lags = np.arange(r.size)
        keep = np.isfinite(r) & (r > 0)
        horizon = "beyond T" if result.horizon is None else f"horizon {result.horizon}"
        style = {"color": color(i), "linestyle": dash(i)}
        ax.semilogy(lags[keep], r[keep], label=f"{result.label} ({horizon})", **style)
        zero = r == 0
        if zero.any():  # underflowed to 0: marked on the bottom edge, not left blank
            ax.plot(
                lags[zero],
                np.full(int(zero.sum()), 0.01),
                "v",
                ms=4,
                clip_on=False,
                transform=ax.get_xaxis_transform(),
                color=style["color"],
                label=f"{result.label}: r_k underflowed to 0",
            )
        eps = result.spec.eps
    if eps is not None:
        ax.axhline(eps, color="0.5", linestyle="--", linewidth=1, label=f"eps = {eps:g}")
    ax.set_xlabel(r"lag $k = T - t$ (steps back from the loss)")
    ax.set_ylabel(r"$r_k = g_{T-k}\,/\,g_T$")
    ax.set_title(title or "gradient reaching each step")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(figure, path)
