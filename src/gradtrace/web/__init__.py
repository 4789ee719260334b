"""`gradtrace serve`: a local web lab (simulator, probe lab, results browser) over a JSON API.

FastAPI and uvicorn come with the optional extra ``gradtrace[web]``; they are imported only when
the app is built, so the rest of gradtrace works without them.
"""

from __future__ import annotations

from typing import Any

WEB_EXTRA_HINT = "gradtrace serve needs the web extra: pip install 'gradtrace[web]'"


def create_app(data_dir: Any = ".", **options: Any) -> Any:
    """The FastAPI app of the lab (see gradtrace.web.app.create_app)."""
    try:
        from gradtrace.web.app import create_app as build
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("fastapi", "starlette", "uvicorn", "pydantic"):
            raise ModuleNotFoundError(WEB_EXTRA_HINT, name=e.name) from None
        raise
    return build(data_dir, **options)
