"""Validation of simulate's inputs: each failure names the parameter, the value and the rule."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from gradtrace.errors import InvalidValue

MAX_VALUES = 100  # most factors / step counts / widths one call may list


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """A finite real number within [low, high] (``low_open``: strictly above low)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValue(name, value, "must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidValue(name, value, "must be a finite number")
    if low is not None and (number <= low if low_open else number < low):
        raise InvalidValue(name, value, f"must be {'>' if low_open else '>='} {low:g}")
    if high is not None and number > high:
        raise InvalidValue(name, value, f"must be <= {high:g}")
    return number


def whole(name: str, value: Any, *, low: int, high: int) -> int:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidValue(name, value, "must be a whole number")
    if not low <= value <= high:
        raise InvalidValue(name, value, f"must be between {low} and {high}")
    return int(value)


def listing(name: str, values: Iterable[Any]) -> list[Any]:
    """A non-empty list of at most MAX_VALUES entries (a bare number counts as one entry)."""
    items = [values] if isinstance(values, (int, float, str)) else list(values)
    if not items:
        raise InvalidValue(name, "nothing", "give at least one value")
    if len(items) > MAX_VALUES:
        raise InvalidValue(name, f"{len(items)} values", f"give at most {MAX_VALUES}")
    return items
