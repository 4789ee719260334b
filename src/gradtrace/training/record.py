"""RunRecord: the plain, JSON-able result of one training run."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from gradtrace import display

Status = str  # "solved" | "unsolved" | "out_of_time" | "diverged" | "failed"
# "out_of_time": the clock (a safety cap) stopped the run before its step budget; it is not
# "unsolved", which means the whole step budget was spent.
STATUSES: tuple[str, ...] = ("solved", "unsolved", "out_of_time", "diverged", "failed")


@dataclass
class RunRecord:
    """What happened in one run, compact enough to store thousands of them (JSON-able).

    Curves hold at most ~200 [step, value] points (loss: mean training loss over each stretch
    of steps; eval: held-out metric). Gradient norms are global L2 norms over all parameters,
    summarised as {"median", "max", "last"}. ``profiles`` maps "start" / "middle" / "end" to
    {"step": s, "profile": GradientProfile.to_dict()} (or {"step": s, "error": text}), or is
    None when profiles were off. Non-finite numbers are stored as None.
    """

    status: Status
    steps: int
    steps_to_solve: int | None
    metric: float | None
    best_metric: float | None
    metric_name: str
    higher_is_better: bool
    baseline: float
    eval_loss: float | None
    final_loss: float | None
    loss_curve: list[list[float | None]]
    eval_curve: list[list[float | None]]
    wall_time_s: float
    time_per_step_s: float | None
    peak_memory_mb: float | None
    memory_method: str
    n_params: int
    grad_norm_pre: dict[str, float | None]
    grad_norm_post: dict[str, float | None]
    clip_rate: float | None
    profiles: dict[str, dict[str, Any]] | None
    model_spec: dict[str, Any]
    task_spec: dict[str, Any]
    train_spec: dict[str, Any]
    seed: int
    torch_version: str
    device: str
    threads: int
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def solved(self) -> bool:
        """Whether the run met its task's criterion."""
        return self.status == "solved"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of JSON types (json.dumps works on it, strict JSON: no NaN)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Inverse of `to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"RunRecord: unknown keys {', '.join(unknown)}")
        return cls(**data)

    def __repr__(self) -> str:
        return display.run_repr(self)

    def _repr_html_(self) -> str:
        return display.run_summary(self).html()

    def __rich__(self) -> Any:
        return display.run_summary(self).rich()


def finite(value: float | None) -> float | None:
    """``value`` as a float, or None when missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def summarize(values: np.ndarray) -> dict[str, float | None]:
    """{"median", "max", "last"} of a 1-D array; median and max over its finite entries."""
    values = np.asarray(values, dtype=np.float64)
    kept = values[np.isfinite(values)]
    return {
        "median": finite(np.median(kept)) if kept.size else None,
        "max": finite(np.max(kept)) if kept.size else None,
        "last": finite(values[-1]) if values.size else None,
    }
