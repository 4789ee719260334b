"""What every format shares: the one-line FormatError, JSON reading and schema validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from gradtrace.errors import InvalidValue

MAX_JSON_BYTES = 50_000_000
# reader schemas: JSON types only (no "64" for 64, no true for 1); unknown keys are kept
# so that a file written by a newer minor version still reads
READ = ConfigDict(strict=True, extra="allow", frozen=True)

Model = TypeVar("Model", bound=BaseModel)


class FormatError(InvalidValue):
    """A file gradtrace wrote (or was given) that does not hold what its format says.

    The message is one line: ``<file> <record>: <value> is not allowed; <what is wrong>``.
    """

    def __init__(self, file: str | Path, record: str, value: Any, allowed: str) -> None:
        self.file = str(file)
        self.record = record
        where = f"{self.file} {record}" if record else self.file
        super().__init__(where, _short(value), allowed)


def _short(value: Any) -> Any:
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return value


def validate(model: type[Model], data: Any, *, file: str | Path, record: str) -> Model:
    """``data`` validated as ``model``; a failure is a FormatError naming the file and record."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        where = ".".join(p for p in (record, loc) if p)
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        value = first.get("input")
        if first.get("type") == "missing":
            value, message = "(missing)", "the field is required"
        raise FormatError(file, where, value, message) from None
    except RecursionError:
        raise FormatError(file, record, "...", "nested too deeply") from None


def check_version(version: Any, supported: int, *, file: str | Path, record: str) -> None:
    """Refuse a format version this gradtrace cannot read (newer, or not a whole number)."""
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FormatError(file, record, version, "a format version >= 1")
    if version > supported:
        raise FormatError(
            file, record, version, f"this gradtrace reads up to version {supported}; upgrade it"
        )


def parse_json(text: str, *, file: str | Path, record: str = "") -> Any:
    """A JSON document; a syntax error names its line and column, deep nesting is refused."""
    if not text.strip():
        raise FormatError(file, record, "", "the file is empty; a JSON document is expected")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}"
        raise FormatError(file, record, where, f"valid JSON ({e.msg})") from None
    except RecursionError:
        raise FormatError(file, record, "...", "JSON nested too deeply") from None


def read_json(path: str | Path) -> Any:
    """The JSON document in ``path`` (at most MAX_JSON_BYTES, UTF-8)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise FormatError(path, "", f"{size} bytes", f"JSON files up to {MAX_JSON_BYTES} bytes")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(path, "", f"byte {e.start}", "UTF-8 text") from None
    except OSError as e:
        raise FormatError(path, "", e.strerror or "unreadable", "a readable file") from None
    return parse_json(text, file=path)
