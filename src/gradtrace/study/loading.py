"""Read a StudySpec from a dict or a TOML file; any error is one line naming file, key and value."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gradtrace.errors import InvalidValue
from gradtrace.resources import planned_runs
from gradtrace.study.expand import expand
from gradtrace.study.spec import MAX_RUNS, FieldError, StudySpec

MAX_TOML_BYTES = 1_000_000


class SpecError(InvalidValue):
    """A study file or dict is invalid: ``<source>: <key>: <value> is not allowed; <allowed>``."""

    def __init__(
        self, source: str, key: str, value: Any, allowed: str, *, message: str | None = None
    ) -> None:
        super().__init__(f"{source}: {key}", value, allowed)
        self.source = source
        self.key = key
        if message is not None:  # a line of its own instead of "<value> is not allowed; ..."
            self.args = (f"{source}: {key}: {message}",)


def spec_from_dict(data: dict[str, Any], *, source: str = "study") -> StudySpec:
    """Validate ``data`` as a StudySpec and expand it once so every grid error surfaces now."""
    if not isinstance(data, dict):
        raise SpecError(source, "(top level)", data, "a table of study settings")
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as e:
        raise spec_error(e, source) from e
    except RecursionError:
        raise SpecError(
            source, "(top level)", "...", "nested a few hundred levels at most"
        ) from None
    planned = planned_runs(spec)  # counted from the axes: a huge grid is refused unexpanded
    if planned > MAX_RUNS:
        raise SpecError(
            source, "(study size)", planned, f"a study may have at most {MAX_RUNS} runs"
        )
    try:
        expand(spec)
    except FieldError as e:
        raise SpecError(source, e.field, e.value, e.allowed) from e
    return spec


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study TOML file."""
    path = Path(path)
    source = path.name
    if not path.is_file():
        raise SpecError(str(path), "(file)", str(path), "give an existing TOML file")
    raw = path.read_bytes()
    if len(raw) > MAX_TOML_BYTES:
        raise SpecError(source, "(file)", f"{len(raw)} bytes", f"at most {MAX_TOML_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        line = " ".join(str(e).split())
        raise SpecError(source, "(syntax)", line, "the file must be valid TOML") from e
    except RecursionError:
        raise SpecError(
            source, "(syntax)", "...", "TOML nested a few hundred levels at most"
        ) from None
    return spec_from_dict(data, source=source)


def spec_error(error: ValidationError, source: str) -> SpecError:
    """The first pydantic error as a SpecError naming the key path as written in the file."""
    first = error.errors()[0]
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    value = first.get("input")
    message = str(first.get("msg", "invalid value"))
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, FieldError):
        return SpecError(source, _join(loc, inner.field), inner.value, inner.allowed)
    if isinstance(inner, InvalidValue):
        return SpecError(source, key_path(loc), inner.value, inner.allowed)
    key = key_path(loc)
    if kind == "missing":
        return SpecError(source, key, "(missing)", "this key is required")
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1]))
        return SpecError(source, key, value, f"unknown key; allowed keys: {allowed}")
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(first.get("ctx", {}).get("expected", "")))
        if choices:
            return SpecError(source, key, value, "choose one of " + ", ".join(choices))
    allowed = message.removeprefix("Value error, ").replace("Input should be", "must be")
    return SpecError(source, key, value, allowed)


def key_path(loc: tuple[Any, ...]) -> str:
    """``("variant", 1, "cell")`` -> ``"variant[2].cell"`` (list items counted from 1)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        elif part not in ("function-before", "function-after") and not str(part).startswith(
            ("function-", "tagged-union")
        ):
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _join(loc: tuple[Any, ...], field: str) -> str:
    base = key_path(loc)
    return field if base == "(top level)" else f"{base}.{field}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Keys allowed at ``loc`` (aliases as written in the file)."""
    model: type[BaseModel] = StudySpec
    for part in loc:
        if isinstance(part, int):
            continue
        fields = {(f.alias or n): f for n, f in model.model_fields.items()}
        if part not in fields:
            break
        nested = _model_in(fields[part].annotation)
        if nested is None:
            break
        model = nested
    return [(f.alias or n) for n, f in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
