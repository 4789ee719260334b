"""Rich tables that fit a terminal: prose moves below the table, wide tables split by columns.

A table is readable at a width when no cell is cut or squeezed: :func:`fit_table` keeps the
short columns on one line each, moves a prose column (a sentence per row) under the table as
"key: text" lines when it would get fewer than :data:`MIN_PROSE` characters, and splits the
remaining columns into parts that each fit, repeating the key columns (the first ``keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

MIN_PROSE = 30  # a prose column narrower than this reads as a ribbon of words
_EDGE = 1  # the table's left border
_PER_COLUMN = 3  # a separator and the padding of one column


def _width(column: str, cells: Sequence[str]) -> int:
    """Natural width: the longest of the header and every cell."""
    return max([len(column), *(len(c) for c in cells)], default=len(column))


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], prose: set[str]) -> Table:
    view = Table()
    for column in columns:
        if column in prose:
            view.add_column(column, overflow="fold", min_width=MIN_PROSE)
        else:
            view.add_column(column, no_wrap=True)
    for row in rows:
        view.add_row(*row)
    return view


def fit_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    width: int,
    *,
    keys: int = 1,
    prose: Sequence[str] = (),
) -> Group:
    """The table as one or more Rich tables (and prose lines) that fit ``width`` columns."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [_width(c, [row[i] for row in rows]) for i, c in enumerate(columns)]
    prose_at = [i for i, c in enumerate(columns) if c in prose]
    short = [i for i in range(len(columns)) if i not in prose_at]
    used = _EDGE + sum(widths[i] + _PER_COLUMN for i in short)
    room = width - used - _PER_COLUMN * len(prose_at)
    moved = prose_at if prose_at and room < MIN_PROSE * len(prose_at) else []
    kept = [i for i in range(len(columns)) if i not in moved]
    parts = _split(kept, widths, width, keys=min(keys, len(kept)), prose=set(prose_at) - set(moved))
    shown: list[Any] = []
    for n, part in enumerate(parts, start=1):
        label = title if len(parts) == 1 else f"{title} ({n}/{len(parts)})"
        names = [columns[i] for i in part]
        shown.append(Text(label, style="italic"))  # above, not squeezed to the table's width
        shown.append(_table(names, [[row[i] for i in part] for row in rows], set(prose)))
    for i in moved:
        key = max(keys, 1)
        shown.append(Text(f"{columns[i]}:", style="bold"))
        for row in rows:
            if row[i]:
                shown.append(Text(f"  {' / '.join(row[:key])}: {row[i]}"))
    return Group(*shown)


def _split(
    kept: list[int], widths: list[int], width: int, *, keys: int, prose: set[int]
) -> list[list[int]]:
    """Column indices per part: the key columns, then as many others as fit."""
    head, rest = kept[:keys], kept[keys:]
    base = _EDGE + sum(widths[i] + _PER_COLUMN for i in head)
    parts: list[list[int]] = []
    current: list[int] = []
    used = base
    for i in rest:
        need = (MIN_PROSE if i in prose else widths[i]) + _PER_COLUMN
        if current and used + need > width:
            parts.append(head + current)
            current, used = [], base
        current.append(i)
        used += need
    parts.append(head + current)
    return parts


def progress_columns(unit: str, *extra: Any) -> tuple[Any, ...]:
    """Labelled progress columns: "name [bar] 3/10 runs  elapsed 0:01:02  left 0:02:00" + extra."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} " + unit),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        *extra,
    )
