"""The claims-audit section: one row per claim with its verdict and evidence."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from gradtrace.report.document import Fact, Section, Table, tone_of

PREFERRED = (
    "claim",
    "id",
    "source",
    "seed",
    "statement",
    "text",
    "verdict",
    "evidence",
    "measured",
    "expected",
    "summary",
    "note",
)
# gradtrace's own audit records: the one-line summary first, the raw evidence last
AUDIT_COLUMNS = ("id", "seeds", "claim", "verdict", "summary", "needs", "evidence")
MAX_CELL = 400


def _cell(value: Any) -> Any:
    """Nested values as compact JSON text, cut to a readable length."""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(", ", ": "), default=str)
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[: MAX_CELL - 3] + "..."
    return value


def audit_rows(payloads: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of the audit table from {claim key: payload}."""
    items = [p if isinstance(p, dict) else {"result": p} for p in payloads.values()]
    keys = list(dict.fromkeys(k for p in items for k in p))
    if "summary" in keys and "verdict" in keys:  # gradtrace's own ClaimResult records
        columns = [k for k in AUDIT_COLUMNS if k in keys]
    else:
        columns = [k for k in PREFERRED if k in keys] + [k for k in keys if k not in PREFERRED]
    if "claim" not in columns and "id" not in columns:
        columns = ["claim", *columns]
        items = [{"claim": key, **p} for key, p in zip(payloads, items, strict=True)]
    rows = [
        [_source(p.get(c)) if c == "seeds" else _cell(p.get(c)) for c in columns] for p in items
    ]
    return ["source" if c == "seeds" else c for c in columns], rows


def _source(ids: Any) -> Any:
    """Source texts by their titles (records keep short ids)."""
    from gradtrace.audit.sources import source_label

    return source_label(ids) if isinstance(ids, list | tuple) else ids


def audit_section(payloads: dict[str, Any]) -> Section | None:
    """The audit of the claims, when the folder holds one."""
    if not payloads:
        return None
    columns, rows = audit_rows(payloads)
    facts = [Fact("claims checked", str(len(rows)))]
    if "verdict" in columns:
        at = columns.index("verdict")
        for verdict, n in sorted(Counter(str(r[at]) for r in rows).items()):
            facts.append(Fact(verdict, str(n), tone_of(verdict)))
    return Section(
        "audit",
        "Claims audit",
        intro="Each claim is checked by measurement; the verdict says whether the numbers "
        "support it.",
        facts=facts,
        tables=[Table("", columns, rows)],
    )
