"""DNS-rebinding protection: the lab answers only requests whose Host header names it."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gradtrace.errors import InvalidValue

LOOPBACK = ("localhost", "127.0.0.1", "::1")
ANY_ADDRESS = ("0.0.0.0", "::")


def host_name(header: str) -> str:
    """The name in a Host header, without its port (and without IPv6 brackets)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts(listen: str | None) -> tuple[str, ...] | None:
    """Host names the lab answers when listening on ``listen`` (None: any, for 0.0.0.0)."""
    if listen in ANY_ADDRESS:
        return None
    extra = () if listen is None else (host_name(listen),)
    return tuple(dict.fromkeys((*LOOPBACK, *extra)))


def install_host_check(app: FastAPI, hosts: Iterable[str] | None) -> None:
    """Answer 421 with one line to any request whose Host is not one of ``hosts``."""
    if hosts is None:
        return
    names = frozenset(h.lower() for h in hosts)
    allowed = "a request to " + ", ".join(sorted(names)) + " (gradtrace serve --host NAME)"

    @app.middleware("http")
    async def _check_host(request: Request, call_next):
        header = request.headers.get("host", "")
        if host_name(header) not in names:
            detail = str(InvalidValue("Host", header, allowed))
            return JSONResponse({"detail": detail}, status_code=421)
        return await call_next(request)
