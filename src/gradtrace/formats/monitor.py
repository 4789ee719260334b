"""Monitor JSONL (format 1): one JSON object per line, each with "step" and "kind"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gradtrace.formats.base import READ, FormatError, check_version, validate
from gradtrace.formats.profile import ProfileData

VERSION = 1
MAX_LOG_BYTES = 500_000_000
# json_safe writes non-finite floats as these strings
Safe = float | Literal["nan", "inf", "-inf"] | None


class StepLine(BaseModel):
    """A StepRecord line."""

    model_config = READ

    format_version: int | None = None
    step: int = Field(ge=0)
    kind: Literal["step"]
    global_norm: Safe = None
    global_norm_clipped: Safe = None
    loss: Safe = None
    lr: Safe | list[Safe] | dict[str, Safe] = None
    clipped: bool | None = None
    skipped: bool | None = None
    nonfinite: list[str] | None = None
    layers: dict[str, Safe] | None = None


class ProfileLine(BaseModel):
    """A ProfileRecord line."""

    model_config = READ

    format_version: int | None = None
    step: int = Field(ge=0)
    kind: Literal["profile"]
    verdict: str | None = None
    layers: list[dict[str, Any]] = Field(default_factory=list)
    profile: ProfileData | None = None


class AlertLine(BaseModel):
    """An alert line."""

    model_config = READ

    format_version: int | None = None
    step: int = Field(ge=0)
    kind: Literal["alert"]
    message: str | None = None


class RunLine(BaseModel):
    """The marker that opens a run (or continues it in a recreated file)."""

    model_config = READ

    format_version: int | None = None
    step: int = Field(ge=0)
    kind: Literal["run"]
    run: str
    started: str | None = None
    continued: bool | None = None
    part: int | None = Field(default=None, ge=1)


class GapLine(BaseModel):
    """The marker of records lost with a deleted, moved or truncated file."""

    model_config = READ

    format_version: int | None = None
    step: int = Field(ge=0)
    kind: Literal["gap"]
    run: str | None = None
    missing_records: int | None = Field(default=None, ge=0)
    missing_steps: list[int] | None = None
    reason: str | None = None


LINES: dict[str, type[BaseModel]] = {
    "step": StepLine,
    "profile": ProfileLine,
    "alert": AlertLine,
    "run": RunLine,
    "gap": GapLine,
}


def validate_line(value: Any, *, file: str | Path, record: str) -> dict[str, Any]:
    """One parsed line checked against its kind's schema."""
    if not isinstance(value, dict):
        raise FormatError(file, record, type(value).__name__, "a JSON object per line")
    check_version(value.get("format_version"), VERSION, file=file, record=record)
    kind = value.get("kind")
    if kind not in LINES:
        raise FormatError(file, f"{record}.kind", kind, "one of " + ", ".join(LINES))
    validate(LINES[kind], value, file=file, record=record)
    return value


def read_monitor_log(path: str | Path) -> list[dict[str, Any]]:
    """The validated records of a monitor log; only a cut-off last line (a live run) is skipped."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_LOG_BYTES:
            raise FormatError(path, "", path.stat().st_size, f"logs up to {MAX_LOG_BYTES} bytes")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(path, "", f"byte {e.start}", "UTF-8 text") from None
    except OSError as e:
        raise FormatError(path, "", e.strerror or "unreadable", "a readable file") from None
    lines = text.split("\n")
    records: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines) and not text.endswith("\n") and records:
                break  # the last line of a log still being written
            raise FormatError(
                path, f"line {n}", f"column {e.colno}", f"valid JSON ({e.msg})"
            ) from None
        except RecursionError:
            raise FormatError(path, f"line {n}", "...", "JSON nested too deeply") from None
        records.append(validate_line(value, file=path, record=f"line {n}"))
    if not records:
        raise FormatError(path, "", "no records", "a monitor log with at least one record")
    return records
