"""The lab's own pages and static files, served from a fixed whitelist (no path is ever joined)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

# URL path -> page file in static/
PAGES = {
    "/": "simulator.html",
    "/simulator": "simulator.html",
    "/probe": "probe.html",
    "/results": "results.html",
    "/live": "live.html",
}


@dataclass(frozen=True)
class Asset:
    """One servable file: its bytes and media type, read once at start-up."""

    body: bytes
    media_type: str


def static_dir() -> Path:
    """The folder holding the lab's HTML, CSS and JS."""
    return Path(str(resources.files("gradtrace.web") / "static"))


def plotly_path() -> Path:
    """plotly.min.js as shipped inside the plotly package (the browser needs no internet)."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def load_assets() -> dict[str, Asset]:
    """Every servable file by name: the files directly in static/ plus plotly.min.js."""
    table: dict[str, Asset] = {}
    for path in sorted(static_dir().iterdir()):
        media = MEDIA_TYPES.get(path.suffix)
        if path.is_file() and media is not None:
            table[path.name] = Asset(path.read_bytes(), media)
    table["plotly.min.js"] = Asset(plotly_path().read_bytes(), MEDIA_TYPES[".js"])
    return table


def assets_router() -> APIRouter:
    """Routes for the three pages and /static/{name}; unknown names are 404, never a file path."""
    assets = load_assets()
    router = APIRouter(include_in_schema=False)

    def page(name: str):
        body = assets[name].body

        def serve() -> HTMLResponse:
            return HTMLResponse(body, headers={"Cache-Control": "no-cache"})

        return serve

    for url, name in PAGES.items():
        router.add_api_route(url, page(name), methods=["GET"], response_class=HTMLResponse)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise HTTPException(status_code=404, detail="not found")
        cache = "max-age=86400" if name == "plotly.min.js" else "no-cache"
        return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": cache})

    return router
