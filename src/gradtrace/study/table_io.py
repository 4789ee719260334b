"""Show study tables in the terminal (Rich) and save them as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gradtrace.study.tables import StudyTable
from gradtrace.terminal import fit_table

TABLES_DIR = "tables"
WRAPPING = ("limitation observed", "likely reason")  # prose; the rest stay on one line
KEYS = {"technique": 2, "success_matrix": 2}  # columns repeated when a table is split


def render_tables(tables: list[StudyTable], console: Console) -> None:
    """Print every table with its notes, fitted to the console's width (see terminal.fit_table)."""
    for table in tables:
        keys = KEYS.get(table.name, 1)
        rows = [[escape(str(cell)) for cell in row] for row in table.rows]  # "[0.34-1.00]"
        view = fit_table(table.title, table.columns, rows, console.width, keys=keys, prose=WRAPPING)
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
