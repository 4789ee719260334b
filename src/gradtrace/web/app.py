"""The FastAPI application behind `gradtrace serve`: three pages and the JSON API behind them."""

from __future__ import annotations

import importlib.util
import inspect
import threading
from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI

from gradtrace.web.assets import assets_router
from gradtrace.web.errors import install_error_handlers
from gradtrace.web.hosts import LOOPBACK, install_host_check
from gradtrace.web.jobs import JobBoard
from gradtrace.web.routes_live import live_router
from gradtrace.web.routes_probe import probe_router
from gradtrace.web.routes_results import results_router
from gradtrace.web.routes_simulate import simulate_router

MAX_BODY_BYTES = 64 * 1024  # every request body the lab accepts is a few hundred bytes


def create_app(
    data_dir: str | Path = ".",
    *,
    probe_wait_s: float = 10.0,
    docs_offline: bool = True,
    hosts: Iterable[str] | None = LOOPBACK,
) -> FastAPI:
    """Build the lab.

    Args:
        data_dir: the folder whose studies, audits, probes and monitor logs the Results page
            shows; nothing outside it is ever read.
        probe_wait_s: how long a probe waits for the one running before answering 429.
        docs_offline: serve Swagger UI's files locally at /docs when the fastapi-offline
            package is installed (otherwise /docs loads them from a CDN; /openapi.json always
            works offline).
        hosts: the Host header names the lab answers (DNS-rebinding protection); loopback
            names by default, None for any.
    """
    from gradtrace import __version__

    local_docs = docs_offline and _swagger_bundle() is not None
    options = {"max_body_size": MAX_BODY_BYTES} if _supports_body_limit() else {}
    app = FastAPI(
        title="gradtrace lab",
        version=__version__,
        description="Simulate, probe and browse vanishing and exploding gradients in recurrent "
        "networks. Every page of the lab is drawn from these endpoints.",
        docs_url=None if local_docs else "/docs",
        redoc_url=None,
        **options,
    )
    install_error_handlers(app)
    install_host_check(app, hosts)
    app.include_router(simulate_router(), prefix="/api/simulate", tags=["simulate"])
    app.state.probe_lock = threading.Lock()  # one probe at a time; tests hold it to see 429
    app.state.data_dir = Path(data_dir).resolve()
    app.state.probe_jobs = JobBoard(app.state.probe_lock)  # probes with progress and cancel
    probes = probe_router(
        lock=app.state.probe_lock, probe_wait_s=probe_wait_s, jobs=app.state.probe_jobs
    )
    app.include_router(probes, prefix="/api", tags=["probe"])
    app.include_router(results_router(Path(data_dir)), prefix="/api", tags=["results"])
    app.include_router(live_router(Path(data_dir)), prefix="/api", tags=["live"])
    app.include_router(assets_router())
    if local_docs:
        _mount_local_docs(app)
    return app


def _supports_body_limit() -> bool:
    return "max_body_size" in inspect.signature(FastAPI.__init__).parameters


def _swagger_bundle() -> Path | None:
    """The folder of Swagger UI 5's files shipped by the fastapi-offline package, if installed."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    names = ("swagger-ui-bundle.js", "swagger-ui.css")
    return folder if all((folder / n).is_file() for n in names) else None


def _mount_local_docs(app: FastAPI) -> None:
    """/docs with Swagger UI's JS and CSS served from this machine (no CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse, Response

    folder = _swagger_bundle()
    assert folder is not None  # checked by the caller
    files = {
        "swagger-ui-bundle.js": ("text/javascript", (folder / "swagger-ui-bundle.js").read_bytes()),
        "swagger-ui.css": ("text/css", (folder / "swagger-ui.css").read_bytes()),
    }

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="gradtrace lab API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/docs-static/{name}", include_in_schema=False)
    def docs_static(name: str) -> Response:
        found = files.get(name)
        if found is None:
            return Response(status_code=404)
        return Response(found[1], media_type=found[0])
