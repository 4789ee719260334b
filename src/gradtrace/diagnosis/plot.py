"""plot_probes(): the relative gradient r_k against lag for several probes, log scale (PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gradtrace.diagnosis.probing import ProbeResult


def plot_probes(results: list[ProbeResult], path: str | Path, *, title: str | None = None) -> Path:
    """Draw r_k against lag k, one line per probe labelled with its spec; returns the path."""
    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    eps = None
    for result in results:
        r = result.curve()
        lags = np.arange(r.size)
        keep = np.isfinite(r) & (r > 0)
        horizon = "beyond T" if result.horizon is None else f"horizon {result.horizon}"
        ax.semilogy(lags[keep], r[keep], label=f"{result.label} ({horizon})")
        eps = result.spec.eps
    if eps is not None:
        ax.axhline(eps, color="0.5", linestyle="--", linewidth=1, label=f"eps = {eps:g}")
    ax.set_xlabel("lag k = T - t (steps back from the loss)")
    ax.set_ylabel(r"$r_k = g_{T-k}\,/\,g_T$")
    ax.set_title(title or "gradient reaching each step")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=120)
    return target
