"""The monitor's records (one per step, per profile, per alert) and their JSON-safe encoding."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def json_safe(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps(allow_nan=False)`` accepts.

    Non-finite floats become the strings "nan", "inf", "-inf"; numpy scalars and arrays become
    Python numbers and lists; tuples become lists.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def from_json_safe(value: Any) -> Any:
    """Undo ``json_safe`` for non-finite floats ("nan", "inf", "-inf" back to floats)."""
    if isinstance(value, dict):
        return {k: from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_safe(v) for v in value]
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    return value


@dataclass
class StepRecord:
    """What the monitor measured on one optimizer step."""

    step: int
    global_norm: float  # before clipping
    global_norm_clipped: float  # after clipping (equal to global_norm when nothing clipped)
    clipped: bool
    skipped: bool  # the optimizer step was skipped (on_nonfinite="skip")
    nonfinite: list[str]  # parameters whose gradient norm is nan or inf
    subnormal_fraction: float  # over the sampled gradient entries; nan when not measured
    layers: dict[str, float]  # layers with at least one gradient on this step
    params: dict[str, float | None]  # None where the parameter had no gradient
    loss: float | None = None  # given through monitor.log(loss=...); None when not given
    lr: list[float] = field(default_factory=list)  # per optimizer param group; [] when unknown

    def to_dict(self) -> dict:
        """The record as a plain dict (floats may be non-finite; see json_safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> StepRecord:
        """Rebuild a record from ``to_dict`` output (or its JSON-safe form)."""
        data = from_json_safe(dict(data))
        data.pop("kind", None)
        data.pop("run", None)
        return cls(**data)


@dataclass
class ProfileRecord:
    """A gradient-through-time profile (and unit health) taken on one step, as plain dicts."""

    step: int
    verdict: str
    layers: list[dict] = field(default_factory=list)  # GradientProfile.summary() rows
    profile: dict = field(default_factory=dict)  # GradientProfile.to_dict()
    health: dict | None = None  # gradtrace.diagnosis.Health.to_dict(), when measured

    def to_dict(self) -> dict:
        """The record as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProfileRecord:
        """Rebuild a record from ``to_dict`` output (or its JSON-safe form)."""
        data = from_json_safe(dict(data))
        data.pop("kind", None)
        data.pop("run", None)
        return cls(**data)
