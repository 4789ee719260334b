"""Draw a FigureSpec as a static PNG with matplotlib (Agg), no browser or Kaleido needed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gradtrace.report.spec import FigureSpec, color


def _array(values: list[float | None], log: bool) -> np.ndarray:
    """None and (on a log axis) non-positive values become NaN, which matplotlib leaves out."""
    out = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    if log:
        out[~(out > 0)] = math.nan
    return out


def to_png(spec: FigureSpec, path: str | Path, *, dpi: int = 110) -> Path:
    """Write the spec as a PNG at `path` and return the path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state

    fig = Figure(figsize=(7.5, 4.4 * spec.height / 420), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    if spec.heatmap is not None:
        hm = spec.heatmap
        z = np.array([[math.nan if v is None else v for v in row] for row in hm.z], dtype=float)
        rows = list(range(len(hm.y))) if hm.y_labels else hm.y
        mesh = ax.pcolormesh(_edges(hm.x), _edges(rows), z, cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax, label=hm.colorbar)
        if hm.y_labels:
            ax.set_yticks(rows, hm.y_labels)
    for i, s in enumerate(spec.series):
        x = _array(s.x, spec.x_log)
        y = _array(s.y, spec.y_log)
        style = {"color": s.color or color(i), "label": s.name}
        if s.mode == "markers":
            ax.scatter(x, y, s=14, **style)
        else:
            marker = "o" if "markers" in s.mode else None
            ax.plot(x, y, linestyle="--" if s.dash else "-", marker=marker, ms=3, lw=1.6, **style)
    for ref in spec.hlines:
        ax.axhline(ref.y, color=ref.color, linestyle=":", lw=1.3, label=ref.name)
    if spec.x_log:
        ax.set_xscale("log")
    if spec.y_log:
        ax.set_yscale("log")
    if spec.equal_aspect:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(spec.title, loc="left", fontsize=11)
    ax.set_xlabel(spec.x_title)
    ax.set_ylabel(spec.y_title)
    ax.grid(True, color="#e5e7eb", lw=0.8)
    ax.set_axisbelow(True)
    if spec.series or spec.hlines:
        n = len(spec.series) + len(spec.hlines)
        ax.legend(fontsize=7 if n > 6 else 8, loc="best", ncol=2 if n > 8 else 1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def _edges(centers: list[float]) -> np.ndarray:
    """Cell edges around sorted centre coordinates (for pcolormesh)."""
    c = np.asarray(centers, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
