"""A Document as JSON for a browser: the same sections, figures as Plotly's {data, layout}."""

from __future__ import annotations

from typing import Any

from gradtrace.report.document import Document
from gradtrace.report.render_plotly import to_plotly_json


def document_payload(doc: Document) -> dict[str, Any]:
    """JSON-able form of a Document that the Results page renders."""
    return {
        "title": doc.title,
        "source": doc.source,
        "kind": doc.kind,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "intro": s.intro,
                "facts": [{"label": f.label, "value": f.value, "tone": f.tone} for f in s.facts],
                "figures": [to_plotly_json(f) for f in s.figures if not f.is_empty],
                "tables": [t.to_dict() for t in s.tables],
                "bullets": list(s.bullets),
            }
            for s in doc.sections
        ],
    }
