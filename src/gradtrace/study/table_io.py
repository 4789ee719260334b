"""Show study tables in the terminal (Rich) and save them as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gradtrace.study.tables import StudyTable

TABLES_DIR = "tables"
WRAPPING = {
    "limitation observed",
    "likely reason",
}  # the one column allowed to wrap; the rest stay on one line


def render_tables(tables: list[StudyTable], console: Console) -> None:
    """Print every table with its notes."""
    for table in tables:
        view = Table(title=table.title, title_justify="left")
        for column in table.columns:
            wraps = column in WRAPPING
            view.add_column(column, no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
        for row in table.rows:
            view.add_row(*(escape(str(cell)) for cell in row))  # "[0.34-1.00]" is not markup
        console.print(view)
        for note in table.notes:
            console.print(f"[dim]{escape(note)}[/dim]")
        console.print()


def write_tables(tables: list[StudyTable], out_dir: str | Path) -> list[Path]:
    """Write ``<out_dir>/tables/<name>.csv`` and ``.json`` for every table; returns the paths."""
    folder = Path(out_dir) / TABLES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in tables:
        csv_path = folder / f"{table.name}.csv"
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            writer.writerows(table.rows)
        json_path = folder / f"{table.name}.json"
        json_path.write_text(json.dumps(table.to_dict(), indent=2, ensure_ascii=False) + "\n")
        paths += [csv_path, json_path]
    return paths
