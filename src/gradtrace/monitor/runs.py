"""Runs inside one monitor log: the run-start and gap markers, and splitting a log into runs.

A JSONL log may hold several runs (a rerun appends to the same file). Each run starts with a
``{"kind": "run", "run": <id>, ...}`` record; a file that was deleted or moved while training
ran is recreated with the same run's marker (``"continued": true``) followed by a
``{"kind": "gap", ...}`` record saying how many records (and which steps) may be missing.
Records before any run marker (logs written before runs were marked) form one run, "run-0".
"""

from __future__ import annotations

import secrets
import time
from typing import Any

LEGACY_RUN = "run-0"  # the id given to records that precede every run marker


def new_run_id() -> str:
    """A unique, sortable run id: UTC start time and six random hex digits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def run_record(run: str, step: int, *, continued: bool = False, part: int = 1) -> dict[str, Any]:
    """The marker that opens a run (or continues it in a recreated file: ``part`` 2, 3, ...)."""
    from gradtrace import __version__

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = {"step": step, "kind": "run", "run": run, "started": started}
    record["gradtrace"] = __version__
    if continued:
        record["continued"] = True
        record["part"] = part
    return record


def gap_record(
    run: str, step: int, *, records: int, first: int | None, last: int | None, reason: str
) -> dict[str, Any]:
    """The marker of records lost with a deleted, moved or truncated file.

    ``missing_records`` is how many records this run had written to the lost file (all of them
    may be missing), ``missing_steps`` the first and last step they covered.
    """
    steps = None if first is None or last is None else [first, last]
    return {
        "step": step,
        "kind": "gap",
        "run": run,
        "missing_records": records,
        "missing_steps": steps,
        "reason": reason,
    }


def split_runs(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records by run id, in the order the runs first appear (markers included)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    current = LEGACY_RUN
    for record in records:
        if record.get("kind") == "run" and isinstance(record.get("run"), str):
            current = record["run"]
        runs.setdefault(current, []).append(record)
    return runs


def select_run(records: list[dict[str, Any]], run: str | None = "latest") -> list[dict[str, Any]]:
    """The records of one run: "latest" (default), a run id, or None for every record.

    Raises:
        InvalidValue: ``run`` names no run of the log.
    """
    if run is None:
        return records
    runs = split_runs(records)
    if not runs:
        return []
    if run == "latest":
        return list(runs.values())[-1]
    if run not in runs:
        from gradtrace.errors import InvalidValue

        raise InvalidValue("run", run, '"latest" or one of ' + ", ".join(runs))
    return runs[run]
