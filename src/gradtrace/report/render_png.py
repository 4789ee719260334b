"""Draw a FigureSpec as a static image with matplotlib (Agg), no browser or Kaleido needed.

The format follows the file's extension: PNG at 200 dpi (print quality), SVG or PDF (vector).
Axis titles written as ``g_{T-k}`` or ``r_k`` are rendered as mathtext.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gradtrace.plotting import SAVE_DPI, dash, save_figure
from gradtrace.report.spec import FigureSpec, color


def _array(values: Sequence[float | None], log: bool) -> np.ndarray:
    """None and (on a log axis) non-positive values become NaN, which matplotlib leaves out."""
    out = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    if log:
        out[~(out > 0)] = math.nan
    return out


UNDERFLOW = "underflowed to 0 (below the log axis)"


def math_label(text: str) -> str:
    """``g_{T-k}``, ``r_k``, ``log10 r_k``, ``dL/dh_t`` and friends as matplotlib mathtext."""
    if "$" in text:
        return text
    out = re.sub(r"\b([A-Za-z])_\{([^}]*)\}", r"$\1_{\2}$", text)
    out = re.sub(r"\b([A-Za-z]{1,2})_([A-Za-z0-9])\b", r"$\1_{\2}$", out)
    out = out.replace("log10 ", "$\\log_{10}$ ").replace("λ", "$\\lambda$")
    return out.replace("||", "$\\|$")


def to_png(spec: FigureSpec, path: Any, *, dpi: int = SAVE_DPI, fmt: str | None = None) -> Any:
    """Write the spec as an image at ``path`` (a file name or a binary file) and return it.

    ``fmt``: png, svg or pdf; by default the file name's extension (png for a binary file).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state

    fig = Figure(figsize=(7.5, 4.4 * spec.height / 420), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    if spec.heatmap is not None:
        hm = spec.heatmap
        z = np.array([[math.nan if v is None else v for v in row] for row in hm.z], dtype=float)
        rows: list[float] = [float(i) for i in range(len(hm.y))] if hm.y_labels else hm.y
        mesh = ax.pcolormesh(_edges(hm.x), _edges(rows), z, cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax, label=math_label(hm.colorbar))
        if hm.y_labels:
            ax.set_yticks(rows, hm.y_labels)
    for i, s in enumerate(spec.series):
        x = _array(s.x, spec.x_log)
        y = _array(s.y, spec.y_log)
        style: dict[str, Any] = {"color": s.color or color(i), "label": s.name}
        if s.mode == "markers":
            ax.scatter(x, y, s=14, **style)
        else:
            marker = "o" if "markers" in s.mode else None
            line = "--" if s.dash else dash(i)
            ax.plot(x, y, linestyle=line, marker=marker, ms=3, lw=1.6, **style)
    if spec.y_log and any(v == 0 for s in spec.series for v in s.y):
        for i, s in enumerate(spec.series):  # zeros cannot sit on a log axis: mark the lags
            zero = [x for x, y in zip(s.x, s.y, strict=False) if y == 0 and x is not None]
            ax.plot(
                zero,
                [0.01] * len(zero),
                "v",
                ms=4,
                clip_on=False,
                color=s.color or color(i),
                transform=ax.get_xaxis_transform(),
            )
        ax.plot([], [], "v", color="#555555", label=UNDERFLOW)
    for ref in spec.hlines:
        ax.axhline(ref.y, color=ref.color, linestyle=":", lw=1.3, label=ref.name)
    if spec.x_log:
        ax.set_xscale("log")
    if spec.y_log:
        ax.set_yscale("log")
    if spec.equal_aspect:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(spec.title, loc="left", fontsize=11)
    if spec.y_range is not None:
        ax.set_ylim(*spec.y_range)
    ax.set_xlabel(math_label(spec.x_title))
    ax.set_ylabel(math_label(spec.y_title))
    ax.grid(True, color="#e5e7eb", lw=0.8)
    ax.set_axisbelow(True)
    if spec.series or spec.hlines:
        n = len(spec.series) + len(spec.hlines)
        ax.legend(fontsize=7 if n > 6 else 8, loc="best", ncol=2 if n > 8 else 1)
    if hasattr(path, "write"):
        fig.savefig(path, format=fmt or "png", dpi=dpi)
        return path
    if fmt is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format=fmt, dpi=dpi)
        return path
    return save_figure(fig, path, dpi=dpi)


def _edges(centers: Sequence[float]) -> np.ndarray:
    """Cell edges around sorted centre coordinates (for pcolormesh)."""
    c = np.asarray(centers, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[:-1] + c[1:]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])
