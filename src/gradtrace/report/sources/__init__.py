"""Find results on disk and turn each kind (study, audit, probe, run, monitor) into a Document."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtrace.errors import InvalidValue
from gradtrace.formats import read_json, read_monitor_log, validate_probe, validate_run
from gradtrace.report.document import Document
from gradtrace.report.sources.monitor import is_monitor_log, monitor_document
from gradtrace.report.sources.probe import as_probe, is_probe, probe_document
from gradtrace.report.sources.simulate import (
    audit_document,
    is_audit,
    is_simulation,
    simulation_document,
)
from gradtrace.report.sources.study import STORE_NAME, study_document
from gradtrace.report.sources.tables import is_table, table_document

KINDS = ("study", "audit", "probe", "run", "monitor")
REPORT_ONLY = ("simulate", "audit", "table")  # JSON files that discover() leaves out


@dataclass(frozen=True)
class Found:
    """A result on disk: its path, its kind and a short title."""

    path: Path
    kind: str
    title: str


def is_run_record(data: Any) -> bool:
    """True for a RunRecord dict (gradtrace train --json)."""
    return isinstance(data, dict) and "loss_curve" in data and "status" in data


def run_document(path: Path, record: dict[str, Any]) -> Document:
    """The report of one training run's record, drawn with the study's sections."""
    from gradtrace.report.sources.environment import environment_section
    from gradtrace.report.sources.study import (
        losses_section,
        overview_section,
        profiles_section,
        timelines_section,
    )

    task = record.get("task_spec") or {}
    row = {
        "variant": path.stem,
        "task": task.get("name", "task"),
        "seq_len": task.get("seq_len"),
        "seed": record.get("seed", 0),
        "status": record.get("status"),
        "steps_to_solve": record.get("steps_to_solve"),
        "record": record,
    }
    doc = Document(title=path.name, source=str(path), kind="training run")
    for section in (overview_section, profiles_section, timelines_section, losses_section):
        doc.add(section([row]))
    doc.add(environment_section(records=[record]))
    return doc


def _read_json(path: Path) -> Any:
    return read_json(path)


def kind_of(path: Path) -> str | None:
    """The kind of result at `path`, or None when it is none gradtrace reads."""
    if path.is_dir():
        return "study" if (path / STORE_NAME).is_file() else None
    if path.name == STORE_NAME:
        return "study"
    if path.suffix == ".jsonl":
        return "monitor" if is_monitor_log(path) else None
    if path.suffix == ".json":
        try:
            data = _read_json(path)
        except (OSError, ValueError):
            return None
        if is_run_record(data):
            return "run"
        if is_simulation(data):
            return "simulate"
        if is_audit(data):
            return "audit"
        if is_table(data):
            return "table"
        return "probe" if is_probe(data) else None
    return None


def load_document(path: str | Path) -> Document:
    """The Document of the result at `path` (study folder, probe JSON, run JSON, monitor JSONL)."""
    path = Path(path)
    if not path.exists():
        raise InvalidValue("PATH", str(path), "no such file or folder")
    kind = kind_of(path)
    if kind == "study":
        return study_document(path if path.is_dir() else path.parent)
    if kind == "monitor":
        return monitor_document(path)
    if kind is None and path.suffix == ".json":
        read_json(path)  # a broken JSON file says where it breaks
        raise InvalidValue(
            "PATH",
            str(path),
            "a JSON file the CLI writes (probe, run, simulate, audit or a study table) or a "
            "GradientProfile's to_json(); this JSON is none of them",
        )
    if kind is None and path.suffix == ".jsonl":
        read_monitor_log(path)  # a broken log says which line
    if kind in ("probe", "run", "simulate", "audit", "table"):
        data = read_json(path)
        if kind == "run":
            return run_document(path, validate_run(data, file=path))
        if kind == "probe":
            return probe_document(path, validate_probe(as_probe(data, path.stem), file=path))
        documents: dict[str, Callable[[Path, Any], Document]] = {
            "simulate": simulation_document,
            "audit": audit_document,
            "table": table_document,
        }
        return documents[kind](path, data)
    raise InvalidValue(
        "PATH",
        str(path),
        "give a study or audit folder (with results.sqlite), the JSON of probe, train, "
        "simulate or audit --json, a study table JSON, or a monitor JSONL log",
    )


def discover(root: str | Path, *, max_depth: int = 3, limit: int = 500) -> list[Found]:
    """Results under `root` (folders up to `max_depth` deep), never following links out of it."""
    base = Path(root).resolve()
    found: list[Found] = []

    def walk(folder: Path, depth: int) -> None:
        if len(found) >= limit:
            return
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            kind = kind_of(entry) if entry.suffix in (".json", ".jsonl") or entry.is_dir() else None
            if kind in REPORT_ONLY and not entry.is_dir():
                kind = None  # `gradtrace report` reads these; the results browser lists runs
            if kind is not None:
                if kind == "study":
                    kind = _study_kind(entry)
                rel = entry.relative_to(base).as_posix()
                found.append(Found(entry, kind, rel))
            elif entry.is_dir() and depth < max_depth:
                walk(entry, depth + 1)
            if len(found) >= limit:
                return

    walk(base, 1)
    return found


def _study_kind(folder: Path) -> str:
    """'audit' when a results.sqlite holds audit payloads and no runs, else 'study'."""
    from gradtrace.report.sources.study import store_counts

    try:
        runs, audits = store_counts(folder / STORE_NAME)
    except (OSError, ValueError, sqlite3.Error):  # a store being written or broken still lists
        return "study"
    return "audit" if audits and not runs else "study"
