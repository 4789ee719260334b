"""A small figure description that both Plotly (interactive) and matplotlib (PNG) can draw.

Figures are built once as a FigureSpec from records; `render_plotly.to_plotly` and
`render_png.to_png` turn the same spec into an interactive chart or a static image, so the HTML
report, the web lab and `--png` always show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gradtrace.plotting import PALETTE, color

__all__ = ["PALETTE", "FigureSpec", "HLine", "Heatmap", "Series", "clean", "color"]

Mode = Literal["lines", "markers", "lines+markers"]


def clean(values: Iterable[float | None] | np.ndarray) -> list[float | None]:
    """Floats as a JSON-safe list: None and non-finite values become None (a gap in the line)."""
    out: list[float | None] = []
    for v in values:
        f = math.nan if v is None else float(v)
        out.append(f if math.isfinite(f) else None)
    return out


@dataclass(frozen=True)
class Series:
    """One named x/y series; `group` ties series that toggle together in the legend."""

    name: str
    x: Sequence[float | None]
    y: Sequence[float | None]
    mode: Mode = "lines"
    color: str | None = None
    dash: bool = False
    group: str | None = None
    hover: list[str] | None = None


@dataclass(frozen=True)
class HLine:
    """A horizontal reference line (a chance baseline, eps, the value 1)."""

    y: float
    name: str
    color: str = "#6b7280"


@dataclass(frozen=True)
class Heatmap:
    """A matrix z[row][col] drawn as colours; rows are `y`, columns are `x`."""

    x: list[float]
    y: list[float]
    z: list[list[float | None]]
    colorbar: str = ""
    y_labels: list[str] | None = None  # row names instead of numbers (e.g. "start (step 0)")


@dataclass(frozen=True)
class FigureSpec:
    """Everything needed to draw one chart, independent of the plotting library."""

    key: str  # a file-name-safe identifier, used for the PNG name and the HTML element id
    title: str
    x_title: str = ""
    y_title: str = ""
    x_log: bool = False
    y_log: bool = False
    series: tuple[Series, ...] = ()
    hlines: tuple[HLine, ...] = ()
    heatmap: Heatmap | None = None
    equal_aspect: bool = False
    note: str = ""
    height: int = 420
    y_range: tuple[float, float] | None = None  # data units; None: fit everything

    @property
    def is_empty(self) -> bool:
        """True when the figure has nothing to draw."""
        return not self.series and self.heatmap is None
