"""Read the pieces the report needs out of records, whether objects or their to_dict() forms."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradtrace.display import readable_layer


@dataclass(frozen=True)
class Curve:
    """The per-step gradient norms g_1..g_T of one recurrent layer (time order)."""

    name: str
    g: np.ndarray  # (T,)
    g_cell: np.ndarray | None = None


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def as_floats(values: Any) -> np.ndarray:
    """A float64 vector from a list/array; None becomes nan."""
    if values is None:
        return np.zeros(0)
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def profile_curves(profile: Any, *, readable: bool = False) -> list[Curve]:
    """The layer curves of a GradientProfile, or of its to_dict() form.

    ``readable``: the profile is of a model gradtrace built (probe, study), so its internal
    layer names become words (``layers.0.l0`` -> ``layer 1``, see display.readable_layer).
    """
    if profile is None:
        return []
    if isinstance(profile, Mapping) and "profile" in profile and "layers" not in profile:
        profile = profile["profile"]
    curves = []
    for i, layer in enumerate(_get(profile, "layers", None) or []):
        g = _get(layer, "g")
        if g is None:
            continue
        cell = _get(layer, "g_cell")
        name = str(_get(layer, "name", None) or f"layer {i}")
        name = readable_layer(name) if readable else name
        curves.append(Curve(name, as_floats(g), None if cell is None else as_floats(cell)))
    return curves


def number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, nan)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def first(record: Any, *keys: str, default: Any = None) -> Any:
    """The value of the first key present (not None) in a dict/object."""
    for key in keys:
        value = _get(record, key)
        if value is not None:
            return value
    return default


def as_list(value: Any) -> list[Any]:
    """A list from a list/tuple/array, [] for anything else."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return []
