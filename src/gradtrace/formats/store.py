"""The SQLite study store (schema 1): runs, meta and json_records rows, read and checked."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from gradtrace.formats.audit import validate_audit
from gradtrace.formats.base import READ, FormatError, check_version, validate
from gradtrace.formats.run import validate_run

VERSION = 1
TABLES = ("runs", "meta", "json_records")
SQLITE_MAGIC = b"SQLite format 3\x00"
Status = Literal["pending", "running", "solved", "unsolved", "diverged", "failed"]


class RunRowV1(BaseModel):
    """A row of the runs table (config and record still JSON text)."""

    model_config = READ

    key: str
    variant: str
    technique: str
    task: str
    seq_len: int
    seed: int
    config: str
    status: Status
    steps: int | None = None
    steps_to_solve: int | None = None
    metric: float | None = None
    time_per_step_s: float | None = None
    peak_memory_mb: float | None = None
    step_memory_mb: float | None = None
    n_params: int | None = None
    wall_time_s: float | None = None
    record: str | None = None
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    worker: str | None = None
    attempts: int = 0


class ModelConfigV1(BaseModel):
    """The model settings of a run (a ModelSpec dump): the fields the tables compare, typed."""

    model_config = READ

    cell: str | None = None
    activation: str | None = None
    hidden_size: int | None = None
    residual: bool | None = None
    layer_norm: bool | None = None
    readout: str | None = None


class TaskConfigV1(BaseModel):
    """The task of a run."""

    model_config = READ

    name: str | None = None
    seq_len: int | None = None


class TrainConfigV1(BaseModel):
    """The train settings and budget of a run."""

    model_config = READ

    max_steps: int | None = None
    tbptt: int | None = None
    seed: int | None = None


class RunConfigV1(BaseModel):
    """A run's config: the model, task and train settings it was run with."""

    model_config = READ

    model: ModelConfigV1
    task: TaskConfigV1
    train: TrainConfigV1


def check_sqlite_file(path: str | Path) -> None:
    """Refuse an empty file or one that is not SQLite before sqlite3 opens it."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except OSError as e:
        raise FormatError(path, "", e.strerror or "unreadable", "a readable file") from None
    if not head:
        raise FormatError(path, "", "an empty file", "a gradtrace study store (SQLite)")
    if head != SQLITE_MAGIC:
        raise FormatError(path, "", "not SQLite", "a gradtrace study store (SQLite)")


def sqlite_error(path: str | Path, error: sqlite3.Error) -> FormatError:
    """A FormatError for an SQLite error met while reading ``path``."""
    return FormatError(path, "", " ".join(str(error).split()), "an intact gradtrace study store")


def _loads(text: Any, *, file: Path, record: str) -> Any:
    if text is None:
        return None
    if not isinstance(text, str):
        raise FormatError(file, record, text, "JSON text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(file, record, f"column {e.colno}", f"valid JSON ({e.msg})") from None
    except RecursionError:
        raise FormatError(file, record, "...", "JSON nested too deeply") from None


def check_tables(db: sqlite3.Connection, path: Path, *, new_ok: bool = False) -> set[str]:
    """The gradtrace tables present; a foreign store, or one of a newer schema, is refused.

    With ``new_ok`` an SQLite file with no tables at all (a store being created) passes.
    """
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not names & set(TABLES) and (names or not new_ok):
        found = ", ".join(sorted(names)) or "no tables"
        raise FormatError(path, "", found, "a gradtrace study store (tables runs, meta, ...)")
    if "meta" in names:
        row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is not None:
            version = _loads(row[0], file=path, record="meta.schema_version")
            check_version(version, VERSION, file=path, record="meta.schema_version")
    return names


def run_row(row: dict[str, Any], *, file: Path) -> dict[str, Any]:
    """A runs row checked, with config and record parsed (the record as a run record)."""
    record = f"runs[{row.get('key')!r}]"
    validate(RunRowV1, row, file=file, record=record)
    out = dict(row)
    out["config"] = _loads(row["config"], file=file, record=f"{record}.config")
    if not isinstance(out["config"], dict):
        raise FormatError(file, f"{record}.config", out["config"], "a JSON object")
    validate(RunConfigV1, out["config"], file=file, record=f"{record}.config")
    out["record"] = _loads(row["record"], file=file, record=f"{record}.record")
    if out["record"] is not None:
        validate_run(out["record"], file=file, record=f"{record}.record")
    return out


def meta_value(name: Any, value: Any, *, file: Path) -> Any:
    """A meta row's value parsed."""
    if not isinstance(name, str):
        raise FormatError(file, "meta.name", name, "text")
    return _loads(value, file=file, record=f"meta[{name!r}]")


def json_payload(kind: Any, key: Any, payload: Any, *, file: Path) -> Any:
    """A json_records payload parsed (audit payloads checked as claim records)."""
    if not isinstance(kind, str) or not isinstance(key, str):
        raise FormatError(file, "json_records", [kind, key], "text kind and key")
    record = f"json_records[{kind!r}, {key!r}]"
    value = _loads(payload, file=file, record=record)
    return validate_audit(value, file=file, record=record) if kind == "audit" else value


def read_store(path: str | Path) -> dict[str, Any]:
    """Runs, meta and payloads (by kind) of a results.sqlite, read-only and checked."""
    path = Path(path)
    check_sqlite_file(path)
    out: dict[str, Any] = {"runs": [], "meta": {}, "json": defaultdict(dict)}
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=10.0)) as db:
            db.row_factory = sqlite3.Row
            names = check_tables(db, path)
            if "runs" in names:
                for row in db.execute("SELECT * FROM runs ORDER BY rowid"):
                    out["runs"].append(run_row(dict(row), file=path))
            if "meta" in names:
                for r in db.execute("SELECT name, value FROM meta"):
                    out["meta"][r["name"]] = meta_value(r["name"], r["value"], file=path)
            if "json_records" in names:
                query = "SELECT kind, key, payload FROM json_records ORDER BY rowid"
                for r in db.execute(query):
                    value = json_payload(r["kind"], r["key"], r["payload"], file=path)
                    out["json"][r["kind"]][r["key"]] = value
    except sqlite3.Error as e:
        raise sqlite_error(path, e) from None
    return out
