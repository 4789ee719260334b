"""A profile as a picture for trackers: g against lag on a log scale, one line per layer.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global figure state), and
returned as an (H, W, 3) uint8 array every tracker accepts.
"""

from __future__ import annotations

import numpy as np

from gradtrace.monitor.records import ProfileRecord, from_json_safe


def profile_figure(rec: ProfileRecord):
    """A matplotlib Figure of g_{T-k} against lag k (log y), one line per recurrent layer."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    drawn = 0
    for layer in rec.profile.get("layers", []):
        g = np.asarray(from_json_safe(layer.get("g") or []), dtype=np.float64)
        g = g if layer.get("direction") else g[::-1]  # by lag (a reverse direction already is)
        lags = np.arange(g.size)
        keep = np.isfinite(g) & (g > 0)
        if keep.any():
            ax.plot(lags[keep], g[keep], marker=".", label=str(layer.get("name", "layer")))
            drawn += 1
    if drawn:
        ax.set_yscale("log")
        ax.legend(fontsize="small", loc="best")
    else:
        ax.text(0.5, 0.5, "no finite, positive g to draw", ha="center", transform=ax.transAxes)
    ax.set_xlabel("lag k (steps back from the last)")
    ax.set_ylabel("gradient norm g")
    ax.set_title(f"step {rec.step}: {rec.verdict}", fontsize="medium")
    return fig


def profile_image(rec: ProfileRecord) -> np.ndarray:
    """The profile figure rendered to an (H, W, 3) uint8 RGB array."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(profile_figure(rec))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
