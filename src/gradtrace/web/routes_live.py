"""/api/live and /api/compare: follow a monitor log while training writes it; overlay results.

Live: the page polls ``/api/live/{id}?offset=N`` about once a second and gets the complete
lines written since byte N (at most ``MAX_CHUNK`` bytes a call), the offset to ask from next
and the file's identity. A file that shrank or was replaced (deleted and recreated by the
monitor) is read again from the start (``"reset": true``). Compare: the figures of any chosen
results, matched by their key, with every series named after the result (and run) it comes
from.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from gradtrace.web.routes_results import _document, resolve

MAX_CHUNK = 1 << 20  # bytes of new lines returned per poll
MAX_COMPARE = 12  # results overlaid at once


def read_new_lines(
    path: Path, offset: int, *, file: str | None = None, limit: int = MAX_CHUNK
) -> dict[str, Any]:
    """The complete JSON lines of ``path`` from byte ``offset`` on, and the next offset.

    ``file`` is the identity this endpoint returned last time (device, inode and a checksum of
    the first line, which for a monitor log is a run marker): a different file now at ``path``
    (deleted and recreated, replaced) is read from its start.
    """
    with path.open("rb") as f:
        st = os.fstat(f.fileno())
        head = f.readline(4096)  # inode numbers are reused: the first line tells files apart
        size = st.st_size
        identity = f"{st.st_dev}:{st.st_ino}:{zlib.crc32(head):08x}"
        reset = offset > size or (file is not None and file != identity)
        start = 0 if reset else offset
        f.seek(start)
        chunk = f.read(min(limit, size - start))
    end = chunk.rfind(b"\n") + 1  # a line still being written waits for the next poll
    records = []
    for line in chunk[:end].splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return {"offset": start + end, "size": size, "file": identity, "reset": reset,
            "records": records}  # fmt: skip


def _series_json(series: Any, source: str) -> dict[str, Any]:
    return {"name": f"{source} · {series.name}", "source": source, "x": series.x, "y": series.y}


def compare_payload(root: Path, ids: list[str]) -> dict[str, Any]:
    """Charts shared by the chosen results: one per figure key, every source's series in it."""
    from gradtrace.monitor.runs import split_runs
    from gradtrace.report.sources.monitor import monitor_document, read_jsonl

    charts: dict[str, dict[str, Any]] = {}
    sources = []
    for rid in ids:
        found = resolve(root, rid)
        docs = [(rid, _document(found))]
        if found.kind == "monitor":
            runs = list(split_runs(read_jsonl(found.path)))
            if len(runs) > 1:  # each run of a log is a source of its own
                docs = [(f"{rid} · run {r}", monitor_document(found.path, run=r)) for r in runs]
        for source, doc in docs:
            sources.append(source)
            for fig in doc.figures():
                if fig.heatmap is not None or not fig.series:
                    continue
                chart = charts.setdefault(
                    fig.key,
                    {"key": fig.key, "title": fig.title, "x_title": fig.x_title,
                     "y_title": fig.y_title, "x_log": fig.x_log, "y_log": fig.y_log,
                     "series": []},
                )  # fmt: skip
                chart["series"] += [_series_json(s, source) for s in fig.series]
    return {"sources": sources, "charts": list(charts.values())}


def live_router(data_dir: Path) -> APIRouter:
    """Routes of the live view and the comparison overlay; nothing outside `data_dir` is read."""
    root = data_dir.resolve()
    router = APIRouter()

    @router.get("/live/{rid:path}", summary="New lines of a monitor log since a byte offset")
    def live(
        rid: str,
        offset: int = Query(0, ge=0, le=2**62),
        file: str | None = Query(None, max_length=64),
    ) -> dict[str, Any]:
        found = resolve(root, rid)
        if found.kind != "monitor":
            raise HTTPException(422, f"id: {rid!r} is not allowed; a monitor JSONL log")
        try:
            return {"id": rid, **read_new_lines(found.path, offset, file=file)}
        except OSError as e:  # deleted between two polls: the monitor recreates it
            raise HTTPException(
                404, f"no result {rid!r} in the data folder ({os.strerror(e.errno or 2)})"
            ) from e

    @router.get("/compare", summary="The chosen results' figures overlaid, chart by chart")
    def compare(
        ids: list[str] = Query(..., min_length=1, max_length=MAX_COMPARE),
    ) -> dict[str, Any]:
        return compare_payload(root, ids)

    return router
