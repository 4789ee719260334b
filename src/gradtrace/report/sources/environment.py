"""The environment section: versions, device, seeds and command behind the results."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Iterable
from typing import Any

from gradtrace.report.document import Section, Table

RECORD_KEYS = ("torch_version", "device", "threads")


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _flatten(prefix: str, value: Any, out: list[list[str]]) -> None:
    if isinstance(value, dict) and len(value) <= 30:
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        out.append([prefix, " ".join(value)])  # a command line
    elif (
        isinstance(value, list) and 0 < len(value) <= 10 and all(isinstance(v, dict) for v in value)
    ):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    else:
        text = _text(value)
        out.append([prefix, text if len(text) <= 300 else text[:297] + "..."])


def environment_section(
    *, meta: dict[str, Any] | None = None, records: Iterable[dict[str, Any]] = ()
) -> Section:
    """What the results were made with (from the store's meta and the run records), and what
    the report was written with."""
    from gradtrace import __version__

    rows: list[list[str]] = []
    for name, value in (meta or {}).items():
        if name in ("schema_version", "spec", "spec_toml"):  # the spec is in the study's TOML
            continue
        _flatten("" if name == "environment" else name, value, rows)
    records = list(records)
    for key in RECORD_KEYS:
        values = sorted({_text(r[key]) for r in records if r.get(key) is not None})
        if values:
            rows.append([f"runs: {key.replace('_', ' ')}", ", ".join(values)])
    seeds = sorted({r["seed"] for r in records if isinstance(r.get("seed"), int)})
    if seeds:
        rows.append(["runs: seeds", ", ".join(str(s) for s in seeds)])
    report = [
        ["gradtrace", __version__],
        ["python", platform.python_version()],
        ["platform", platform.platform(terse=True)],
    ]
    for module in ("torch", "numpy", "plotly"):
        mod = sys.modules.get(module)
        if mod is not None:
            report.append([module, str(getattr(mod, "__version__", "?"))])
    tables = []
    if rows:
        tables.append(Table("Recorded with the results", ["name", "value"], rows))
    tables.append(Table("This report", ["name", "value"], report))
    return Section("environment", "Environment", tables=tables)
