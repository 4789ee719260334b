"""Turn request validation errors into one line: {"detail": "name: value is not allowed; ..."}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gradtrace.errors import GradtraceError, InvalidValue

# pydantic error type -> what is allowed, from the error's context
_ALLOWED = {
    "less_than_equal": lambda ctx: f"must be <= {ctx.get('le')}",
    "less_than": lambda ctx: f"must be < {ctx.get('lt')}",
    "greater_than_equal": lambda ctx: f"must be >= {ctx.get('ge')}",
    "greater_than": lambda ctx: f"must be > {ctx.get('gt')}",
    "literal_error": lambda ctx: f"choose one of {ctx.get('expected', '').replace(chr(39), '')}",
    "extra_forbidden": lambda ctx: "unknown field",
    "missing": lambda ctx: "a value is required",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "float_parsing": lambda ctx: "must be a number",
    "bool_parsing": lambda ctx: "must be true or false",
    "string_too_long": lambda ctx: f"at most {ctx.get('max_length')} characters",
    "too_long": lambda ctx: f"at most {ctx.get('max_length')} items",
    "too_short": lambda ctx: f"at least {ctx.get('min_length')} items",
    "finite_number": lambda ctx: "must be a finite number",
}

_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def one_line(errors: list[dict[str, Any]]) -> str:
    """The first validation error as "name: value is not allowed; allowed"."""
    if not errors:
        return "request: invalid"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if str(p) not in _LOCATIONS]
    name = ".".join(loc) or "request"
    kind = str(first.get("type", ""))
    ctx = first.get("ctx") or {}
    if isinstance(ctx.get("error"), InvalidValue):  # raised by a validator: already one line
        return str(ctx["error"])
    if kind == "json_invalid":  # loc is ("body", character offset)
        where = f"character {loc[-1]}" if loc and loc[-1].isdigit() else "the body"
        return str(InvalidValue("body", where, f"valid JSON ({ctx.get('error', 'malformed')})"))
    make = _ALLOWED.get(kind)
    allowed = make(ctx) if make else str(first.get("msg", "invalid value"))
    allowed = allowed.removeprefix("Value error, ")
    value = first.get("input")
    if kind == "missing" or isinstance(value, dict):
        return f"{name}: {allowed}"
    return str(InvalidValue(name, value, allowed))


def install_error_handlers(app: FastAPI) -> None:
    """422 with one line for bad requests; gradtrace's own InvalidValue errors the same way."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": one_line(list(exc.errors()))}, status_code=422)

    @app.exception_handler(GradtraceError)
    async def _gradtrace(request: Request, exc: GradtraceError) -> JSONResponse:
        return JSONResponse({"detail": " ".join(str(exc).split())}, status_code=422)
