"""Errors raised at gradtrace's boundaries, each naming the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class GradtraceError(Exception):
    """Base class of every error gradtrace raises on purpose."""


class InvalidValue(GradtraceError, ValueError):
    """A user-supplied value is outside what is allowed.

    The message is one line: ``<name>: <value> is not allowed; <allowed>``.
    """

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name}: {_show(value)} is not allowed; {allowed}")


class UnsupportedModel(GradtraceError, ValueError):
    """A model has no recurrent layer gradtrace knows how to follow."""


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check(condition: bool, name: str, value: Any, allowed: str) -> None:
    """Raise InvalidValue(name, value, allowed) unless ``condition`` holds."""
    if not condition:
        raise InvalidValue(name, value, allowed)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise InvalidValue unless ``value`` is one of ``choices``."""
    options = list(choices)
    if value not in options:
        raise InvalidValue(name, value, "choose one of " + ", ".join(str(o) for o in options))


def from_pydantic(error: Any, *, prefix: str = "") -> InvalidValue:
    """Turn the first error of a pydantic ValidationError into a one-line InvalidValue."""
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    name = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "value")
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "extra_forbidden":
        message = "unknown key"
    return InvalidValue(name, first.get("input"), message.removeprefix("Value error, "))
