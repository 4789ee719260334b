"""/api/results: the studies, audits, probes and monitor logs under the data folder (read-only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from gradtrace.report.sources import Found, discover, load_document


def _listing(root: Path) -> dict[str, Found]:
    """Results under `root` by id (their path relative to it)."""
    return {f.title: f for f in discover(root)}


def resolve(root: Path, rid: str) -> Found:
    """The result with id `rid`; 404 unless it is one that discovery found inside `root`."""
    found = _listing(root).get(rid)
    if found is None:
        raise HTTPException(404, f"no result {rid!r} in the data folder")
    path = found.path.resolve()
    if not path.is_relative_to(root):  # discovery never follows links; this is belt and braces
        raise HTTPException(404, f"no result {rid!r} in the data folder")
    return found


def _document(found: Found):
    """The Document of a result; a file that cannot be read is one line, not a traceback."""
    try:
        return load_document(found.path)
    except (ValueError, OSError, sqlite3.Error, RecursionError) as e:  # a broken file
        detail = " ".join(str(e).split()) or type(e).__name__
        raise HTTPException(422, f"could not read {found.title}: {detail}") from e


def results_router(data_dir: Path) -> APIRouter:
    """Routes of the results browser; nothing outside `data_dir` is ever read."""
    root = data_dir.resolve()
    router = APIRouter()

    @router.get("/results", summary="The results found in the data folder")
    def results() -> dict[str, Any]:
        items = [{"id": rid, "kind": f.kind, "title": rid} for rid, f in _listing(root).items()]
        return {"data_dir": str(root), "results": items}

    @router.get("/results/{rid:path}/report", summary="One result as a self-contained HTML report")
    def report(rid: str) -> HTMLResponse:
        from gradtrace.report.html import render_html

        found = resolve(root, rid)
        return HTMLResponse(render_html(_document(found)))

    @router.get("/results/{rid:path}", summary="One result: sections of facts, figures and tables")
    def result(rid: str, run: str | None = Query(None, max_length=80)) -> dict[str, Any]:
        """``run`` picks one run of a monitor log (default: the latest)."""
        from gradtrace.report.payload import document_payload

        found = resolve(root, rid)
        if run is not None and found.kind == "monitor":
            from gradtrace.report.sources.monitor import monitor_document

            return document_payload(monitor_document(found.path, run=run))
        return document_payload(_document(found))

    return router
