"""Write a StudySpec as a TOML file that `gradtrace study --config` reads back unchanged."""

from __future__ import annotations

import json
import math
from typing import Any

from gradtrace.study.spec import StudySpec

_TABLES = ("model", "train", "budget", "grid")


def dumps_toml(spec: StudySpec) -> str:
    """TOML of ``spec``: top-level keys, [model], [train], [budget], [grid], then [[variant]]."""
    data = spec.model_dump(by_alias=True, exclude_none=True)
    lines = [f"{k} = {_value(v)}" for k, v in data.items() if k not in (*_TABLES, "variant")]
    for table in _TABLES:
        if table in data:
            lines += ["", f"[{table}]"] + [f"{k} = {_value(v)}" for k, v in data[table].items()]
    for variant in data.get("variant", ()):
        lines += ["", "[[variant]]"] + [f"{k} = {_value(v)}" for k, v in variant.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = {k: v for k, v in value.items() if v is not None and v != {}}
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in items.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
