"""The study store: one SQLite file (WAL) with a row per run, study metadata and JSON payloads.

Only the study's parent process writes runs: workers return records and the parent commits
each one in its own transaction, so a finished run survives Ctrl-C, SIGKILL or power loss
(synchronous=FULL), and a run is "running" only while a live study holds the folder's lock.
Other tools (the audit) add payloads with `put_json`, each call its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gradtrace.formats.base import FormatError
from gradtrace.formats.store import (
    check_sqlite_file,
    check_tables,
    json_payload,
    meta_value,
    run_row,
    sqlite_error,
)
from gradtrace.study.expand import RunConfig

STORE_NAME = "results.sqlite"
SCHEMA_VERSION = 1
FINISHED = ("solved", "unsolved", "out_of_time", "diverged", "failed")
UNFINISHED = ("pending", "running")

# metric columns copied out of a run's record (RunRecord fields, or its "extra") for queries and
# tables; the record keeps everything.
METRIC_COLUMNS = (
    "steps",
    "steps_to_solve",
    "metric",
    "time_per_step_s",
    "peak_memory_mb",
    "step_memory_mb",
    "n_params",
    "wall_time_s",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    variant TEXT NOT NULL,
    technique TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL,
    seq_len INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    steps INTEGER,
    steps_to_solve INTEGER,
    metric REAL,
    time_per_step_s REAL,
    peak_memory_mb REAL,
    step_memory_mb REAL,
    n_params INTEGER,
    wall_time_s REAL,
    record TEXT,
    error TEXT,
    started REAL,
    finished REAL,
    worker TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS json_records (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class Store:
    """A study's results.sqlite; use as a context manager or call `close()`."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.is_file():
            raise FileNotFoundError(2, "no study store here", str(self.path))
        if self.path.is_file() and (readonly or self.path.stat().st_size > 0):
            check_sqlite_file(self.path)  # an empty file may become a new store, junk may not
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from None
        try:
            self._open(readonly)
        except (sqlite3.Error, FormatError) as e:
            self._db.close()
            raise e if isinstance(e, FormatError) else sqlite_error(self.path, e) from None

    def _open(self, readonly: bool) -> None:
        check_tables(self._db, self.path, new_ok=not readonly)
        if not readonly:  # reads only: a plain connection so WAL works without write access
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", SCHEMA_VERSION)
        self._db.row_factory = sqlite3.Row

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs ---------------------------------------------------------------------------------
    def plan(self, runs: Iterable[RunConfig]) -> None:
        """Add runs not stored yet as 'pending' and refresh the labels of those already there."""
        with self._transaction() as db:
            for run in runs:
                db.execute(
                    "INSERT INTO runs (key, variant, technique, task, seq_len, seed, config)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " variant = excluded.variant, technique = excluded.technique",
                    (
                        run.key,
                        run.variant,
                        run.technique,
                        run.task,
                        run.seq_len,
                        run.seed,
                        json.dumps(run.config, sort_keys=True),
                    ),
                )

    def release_stale(self) -> int:
        """Put runs left 'running' by a study that stopped without finishing back to 'pending'."""
        with self._transaction() as db:
            return db.execute(
                "UPDATE runs SET status = 'pending' WHERE status = 'running'"
            ).rowcount

    def todo(self, keys: Iterable[str], *, retry_failed: bool = False) -> list[str]:
        """Those of ``keys`` that still need running (failed ones too with ``retry_failed``)."""
        statuses = {row["key"]: row["status"] for row in self._read("SELECT key, status FROM runs")}
        again = {*UNFINISHED, "failed"} if retry_failed else set(UNFINISHED)
        return [k for k in keys if statuses.get(k, "pending") in again]

    def mark_started(self, key: str, *, worker: str) -> None:
        """Record that ``key`` was handed to ``worker`` (committed before it starts)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = 'running', started = ?, worker = ?,"
                " attempts = attempts + 1, error = NULL WHERE key = ?",
                (time.time(), worker, key),
            )

    def mark_pending(self, keys: Iterable[str]) -> None:
        """Put interrupted runs back to 'pending' (they rerun next time); a run that finished
        meanwhile keeps its outcome."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE runs SET status = 'pending' WHERE key = ? AND status = 'running'",
                [(k,) for k in keys],
            )

    def finish(self, key: str, outcome: dict[str, Any]) -> None:
        """Store a run's outcome (from `worker.run_one`) and commit it."""
        record = outcome.get("record") or {}
        status = outcome.get("status", "failed")
        if status not in FINISHED:
            status = "failed"
        extra = record.get("extra") or {}
        values = {c: _number(record.get(c, extra.get(c))) for c in METRIC_COLUMNS}
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, record = ?, error = ?, finished = ?, worker = ?,"
                " started = COALESCE(?, started), "
                + ", ".join(f"{c} = ?" for c in METRIC_COLUMNS)
                + " WHERE key = ?",
                (
                    status,
                    json.dumps(record, allow_nan=True) if record else None,
                    outcome.get("error"),
                    outcome.get("finished", time.time()),
                    outcome.get("worker"),
                    outcome.get("started"),
                    *values.values(),
                    key,
                ),
            )

    def rows(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Run rows as dicts (config and record parsed), in insertion order or ``keys`` order."""
        rows = self._read("SELECT * FROM runs ORDER BY rowid")
        found = [run_row(dict(r), file=self.path) for r in rows]
        if keys is None:
            return found
        by_key = {r["key"]: r for r in found}
        return [by_key[k] for k in keys if k in by_key]

    def counts(self, keys: Iterable[str] | None = None) -> dict[str, int]:
        """Number of runs by status (over ``keys`` when given)."""
        wanted = None if keys is None else set(keys)
        out: dict[str, int] = {}
        for row in self._read("SELECT key, status FROM runs"):
            if wanted is None or row["key"] in wanted:
                out[row["status"]] = out.get(row["status"], 0) + 1
        return out

    # -- metadata and generic JSON payloads ------------------------------------------------------
    def set_meta(self, name: str, value: Any) -> None:
        """Store a JSON-able value under ``name``."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO meta (name, value) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value)),
            )

    def get_meta(self, name: str, default: Any = None) -> Any:
        """The value stored under ``name`` (``default`` when absent)."""
        rows = self._read("SELECT value FROM meta WHERE name = ?", (name,))
        return default if not rows else meta_value(name, rows[0][0], file=self.path)

    def put_json(self, kind: str, key: str, payload: Any) -> None:
        """Store (or replace) a JSON-able payload under (kind, key), e.g. ("audit", claim id)."""
        text = json.dumps(payload, allow_nan=True)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO json_records (kind, key, payload, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(kind, key) DO UPDATE SET payload = excluded.payload,"
                " updated = excluded.updated",
                (kind, key, text, time.time()),
            )

    def get_json(self, kind: str) -> dict[str, Any]:
        """All payloads of ``kind`` as {key: payload}, in the order they were first stored."""
        query = "SELECT key, payload FROM json_records WHERE kind = ? ORDER BY rowid"
        return {
            key: json_payload(kind, key, payload, file=self.path)
            for key, payload in self._read(query, (kind,))
        }

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """All rows of a query; an SQLite error (a damaged file) is one FormatError line."""
        try:
            return self._db.execute(query, args).fetchall()
        except sqlite3.Error as e:
            raise sqlite_error(self.path, e) from None


def open_store(out_dir: str | Path, *, readonly: bool = False) -> Store:
    """The store of the study in ``out_dir``."""
    return Store(Path(out_dir) / STORE_NAME, readonly=readonly)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
