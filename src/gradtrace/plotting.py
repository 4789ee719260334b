"""Shared by every figure: a colour-blind-safe palette, line styles, file formats and dpi.

The ten colours are Paul Tol's "muted" scheme (nine colours designed to stay distinct under the
common colour-vision deficiencies) plus a dark grey; from the sixth trace on, lines are also
dashed, so even a grey-scale print tells the ten apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PALETTE: tuple[str, ...] = (
    "#332288",  # indigo
    "#CC6677",  # rose
    "#117733",  # green
    "#88CCEE",  # cyan
    "#882255",  # wine
    "#DDCC77",  # sand
    "#44AA99",  # teal
    "#AA4499",  # purple
    "#999933",  # olive
    "#555555",  # dark grey
)
DASHES: tuple[str, ...] = ("-", "-", "-", "-", "-", "--", "--", "--", "--", "--")


def color(index: int) -> str:
    """The index-th colour (cycling)."""
    return PALETTE[index % len(PALETTE)]


def dash(index: int) -> str:
    """The index-th matplotlib line style: solid for the first five traces, then dashed."""
    return DASHES[index % len(DASHES)]


SAVE_DPI = 200  # PNG files; vector formats ignore it
FORMATS = ("png", "svg", "pdf")


def figure_format(path: str | Path) -> str:
    """The file format from the path's extension; raises InvalidValue for any other."""
    from gradtrace.errors import InvalidValue

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InvalidValue("path", str(path), "a file name ending in .png, .svg or .pdf")
    return suffix


def save_figure(figure: Any, path: str | Path, *, dpi: int = SAVE_DPI) -> Path:
    """Save ``figure`` in the format of ``path``'s extension (PNG at ``dpi``), parents made."""
    path = Path(path)
    fmt = figure_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=fmt, dpi=dpi)
    return path
