"""Draw a FigureSpec as an interactive Plotly figure (zoom, hover, toggle series in the legend)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from gradtrace.report.spec import PALETTE, FigureSpec, Series

_FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
_AXIS: dict[str, Any] = {
    "gridcolor": "#e5e7eb",
    "linecolor": "#9ca3af",
    "zeroline": False,
    "showline": True,
    "ticks": "outside",
    "tickcolor": "#9ca3af",
    "automargin": True,  # long category labels (heatmap rows) push the margin, not get cut
}


def _scale(log: bool) -> str:
    return "log" if log else "linear"


def decade_ticks(values: list[float | None]) -> dict[str, Any]:
    """On a log axis spanning 1.5+ decades, label whole decades only (at most ~8 labels)."""
    logs = [math.log10(v) for v in values if v is not None and v > 0]
    if not logs or max(logs) - min(logs) < 1.5:
        return {}
    return {"dtick": max(1, math.ceil((max(logs) - min(logs)) / 8))}


def _positive(values: Sequence[float | None], log: bool) -> Sequence[float | None]:
    """On a log axis, zero and negative values cannot be drawn: leave a gap instead."""
    if not log:
        return values
    return [v if v is not None and v > 0 else None for v in values]


def _trace(series: Series, spec: FigureSpec) -> go.Scatter:
    line: dict[str, Any] = {"width": 2}
    if series.color:
        line["color"] = series.color
    if series.dash:
        line["dash"] = "dash"
    kwargs: dict[str, Any] = {
        "x": _positive(series.x, spec.x_log),
        "y": _positive(series.y, spec.y_log),
        "name": series.name,
        "mode": series.mode,
        "line": line,
        "connectgaps": False,
    }
    if series.color and "markers" in series.mode:
        kwargs["marker"] = {"color": series.color, "size": 6}
    if series.group:
        kwargs["legendgroup"] = series.group
    if series.hover:
        kwargs["text"] = series.hover
        kwargs["hovertemplate"] = "%{text}<extra>%{fullData.name}</extra>"
    return go.Scatter(**kwargs)


def html_label(text: str) -> str:
    """``g_{T-k}``, ``r_k``, ``log10`` as Plotly's HTML subscripts (no MathJax needed offline)."""
    out = re.sub(r"\b([A-Za-z])_\{([^}]*)\}", r"\1<sub>\2</sub>", text)
    out = re.sub(r"\b([A-Za-z]{1,2})_([A-Za-z0-9])\b", r"\1<sub>\2</sub>", out)
    return out.replace("log10 ", "log<sub>10</sub> ")


def _underflow_marks(fig: go.Figure, spec: FigureSpec) -> None:
    """Values that underflowed to exactly 0 cannot sit on a log axis: mark them below the
    smallest drawn value with a triangle, named in the legend and on hover."""
    zeros = [(x, s.name) for s in spec.series for x, y in zip(s.x, s.y, strict=False) if y == 0]
    positive = [y for s in spec.series for y in s.y if y is not None and y > 0]
    if not zeros or not positive:
        return
    floor = min(positive) / 3
    fig.add_trace(
        go.Scatter(
            x=[x for x, _ in zeros],
            y=[floor] * len(zeros),
            name="underflowed to 0",
            mode="markers",
            marker={"symbol": "triangle-down", "size": 7, "color": "#555555"},
            text=[f"{name}: 0 (underflow)" for _, name in zeros],
            hovertemplate="%{text}<br>lag %{x}<extra></extra>",
        )
    )


def to_plotly(spec: FigureSpec) -> go.Figure:
    """The Plotly figure for a spec; shown inline by Jupyter, embedded by the HTML report."""
    fig = go.Figure()
    if spec.heatmap is not None:
        hm = spec.heatmap
        fig.add_trace(
            go.Heatmap(
                x=hm.x,
                y=hm.y_labels or hm.y,
                z=hm.z,
                colorscale="Viridis",
                colorbar={"title": {"text": html_label(hm.colorbar)}},
                hovertemplate="x=%{x}<br>y=%{y}<br>z=%{z:.3g}<extra></extra>",
            )
        )
    for series in spec.series:
        fig.add_trace(_trace(series, spec))
    if spec.y_log:
        _underflow_marks(fig, spec)
    for ref in spec.hlines:
        xs = [v for s in spec.series for v in s.x if v is not None]
        lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
        fig.add_trace(
            go.Scatter(
                x=[lo, hi],
                y=[ref.y, ref.y],
                name=ref.name,
                mode="lines",
                line={"color": ref.color, "dash": "dot", "width": 1.5},
                hoverinfo="name+y",
            )
        )
    layout: dict[str, Any] = {
        "title": {"text": spec.title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "template": "none",  # explicit, compact styling below instead of a 7 kB template
        "font": {"family": _FONT, "size": 12, "color": "#1f2937"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": list(PALETTE),
        "hoverlabel": {"namelength": -1},
        "margin": {"l": 80, "r": 20, "t": 50, "b": 50},
        "height": spec.height,
        "legend": {"orientation": "v"},
        "xaxis": {**_AXIS, "title": {"text": html_label(spec.x_title)}, "type": _scale(spec.x_log)},
        "yaxis": {
            **_AXIS,
            "title": {"text": html_label(spec.y_title)},
            "type": _scale(spec.y_log),
            "exponentformat": "power" if spec.y_log else "B",
        },
    }
    if spec.y_log:
        layout["yaxis"].update(decade_ticks([v for s in spec.series for v in s.y]))
    if spec.y_range is not None:
        lo, hi = spec.y_range
        rng = [math.log10(lo), math.log10(hi)] if spec.y_log else [lo, hi]
        layout["yaxis"]["range"] = rng
    if spec.heatmap is not None and spec.heatmap.y_labels:
        layout["yaxis"]["type"] = "category"
    if spec.equal_aspect:
        layout["yaxis"]["scaleanchor"] = "x"
        layout["yaxis"]["scaleratio"] = 1
    fig.update_layout(**layout)
    return fig


def to_plotly_json(spec: FigureSpec) -> dict[str, Any]:
    """The spec as Plotly's JSON ({"data": [...], "layout": {...}}) for a browser to draw."""
    return to_plotly(spec).to_plotly_json()
