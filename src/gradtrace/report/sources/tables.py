"""Read the tables a study wrote (JSON preferred, CSV otherwise) into report Tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from gradtrace.report.document import Document, Section, Table

MAX_TABLE_BYTES = 5_000_000
MAX_ROWS = 2000
# tables shown first, in this order, when a file name contains the word
PREFERRED = ("technique", "rnn", "success")


def table_from_json(data: Any, *, title: str) -> Table | None:
    """A Table from the shapes a table file may have; None when it is not a table."""
    note = ""
    if isinstance(data, dict):
        title = str(data.get("title") or data.get("name") or title)
        notes = data.get("notes") or data.get("note") or data.get("caption") or ""
        note = " ".join(str(n) for n in notes) if isinstance(notes, list) else str(notes)
        columns = data.get("columns")
        rows = data.get("rows")
    elif isinstance(data, list):
        columns, rows = None, data
    else:
        return None
    if not isinstance(rows, list):
        return None
    rows = rows[:MAX_ROWS]
    if rows and all(isinstance(r, dict) for r in rows):
        if not columns:
            columns = list(dict.fromkeys(k for r in rows for k in r))
        names = [str(c) for c in columns]
        return Table(title, names, [[r.get(c) for c in names] for r in rows], note)
    if isinstance(columns, list) and all(isinstance(r, list) for r in rows):
        return Table(title, [str(c) for c in columns], [list(r) for r in rows], note)
    return None


def table_from_csv(path: Path) -> Table | None:
    """A Table from a CSV file with a header row."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            return None
        rows = [row for _, row in zip(range(MAX_ROWS), reader, strict=False)]
    return Table(_title(path), header, rows)


def _title(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()


def _rank(path: Path) -> tuple[int, str]:
    name = path.stem.lower()
    for i, word in enumerate(PREFERRED):
        if word in name:
            return (i, name)
    return (len(PREFERRED), name)


def find_tables(folder: Path) -> list[Table]:
    """Tables in `folder` and `folder/tables`, one per file stem (JSON over CSV)."""
    by_stem: dict[Path, Path] = {}
    for sub in (folder, folder / "tables"):
        if not sub.is_dir():
            continue
        for path in sorted(sub.iterdir()):
            if path.suffix in (".json", ".csv") and path.is_file():
                key = path.with_suffix("")
                if key not in by_stem or path.suffix == ".json":
                    by_stem[key] = path
    tables = []
    for path in sorted(by_stem.values(), key=_rank):
        if path.stat().st_size > MAX_TABLE_BYTES:
            continue
        try:
            if path.suffix == ".json":
                table = table_from_json(json.loads(path.read_text("utf-8")), title=_title(path))
            else:
                table = table_from_csv(path)
        except (OSError, ValueError, csv.Error):
            continue
        if table is not None and table.columns:
            tables.append(table)
    return tables


def tables_section(folder: Path) -> Section | None:
    """The study's tables (technique comparison, RNN/LSTM/GRU, success matrix, ...)."""
    tables = find_tables(folder)
    if not tables:
        return None
    return Section("tables", "Tables", tables=tables)


def is_table(data: Any) -> bool:
    """A table file a study writes (tables/<name>.json: title, columns, rows, notes)."""
    return (
        isinstance(data, dict)
        and isinstance(data.get("columns"), list)
        and isinstance(data.get("rows"), list)
    )


def table_document(path: Path, data: Any) -> Document:
    """The report of one study table file."""
    from gradtrace.report.sources.environment import environment_section

    doc = Document(title=path.name, source=str(path), kind="table")
    table = table_from_json(data, title=_title(path))
    doc.add(Section("table", table.title if table else path.stem, tables=[table] if table else []))
    doc.add(environment_section(meta={}))
    return doc
