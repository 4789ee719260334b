"""Unit health along the actual trajectory: saturation, dead ReLUs, gate statistics, subnormals.

- saturated: the fraction of (example, step, unit) where the state nonlinearity passes less than
  ``SATURATION_THRESHOLD`` (5 %) of its peak derivative: |phi'(a)| < 0.05 max|phi'| (tanh: |a| >
  2.18; sigmoid: |a| > 4.4). rnn: phi of the state; LSTM: the candidate g; GRU: the candidate n.
- dead: rnn units with a ReLU-family activation whose pre-activation is never positive over the
  whole batch and sequence (a ReLU unit passes no gradient at all then).
- gates: LSTM forget/input/output and GRU update/reset gate means; a histogram of the forget
  (LSTM) or update (GRU) gate over [0, 1]; the forget timescale, the median over units of
  1 / (1 - mean forget gate), roughly how many steps the cell state keeps.
- subnormal: the fraction of nonzero floats below the smallest normal number of their dtype.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from gradtrace.diagnosis.jacobians import activation_derivative
from gradtrace.diagnosis.replay import LayerRun

SATURATION_THRESHOLD = 0.05
HISTOGRAM_BINS = 10
RELU_FAMILY = ("relu", "leaky_relu", "prelu")
_PEAK = {"tanh": 1.0, "sigmoid": 0.25}


@dataclass
class LayerHealth:
    """Unit statistics of one layer and direction over the replayed examples."""

    name: str
    kind: str
    layer: int
    direction: str
    activation: str | None
    examples: int
    saturated: float | None = None  # fraction of saturated unit-steps (tanh/sigmoid units)
    dead: float | None = None  # fraction of never-active units (ReLU family)
    dead_units: int | None = None
    gate_means: dict[str, float] = field(default_factory=dict)  # LSTM i,f,o; GRU r,z
    gate_histogram: list[float] | None = None  # forget (LSTM) / update (GRU), fractions per bin
    forget_timescale: float | None = None  # LSTM: median over units of 1 / (1 - mean f)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerHealth:
        """Inverse of `to_dict`."""
        return cls(**data)


@dataclass
class Health:
    """Unit health of every layer and the subnormal floats among the gradients."""

    layers: list[LayerHealth] = field(default_factory=list)
    threshold: float = SATURATION_THRESHOLD
    subnormal_grads: float | None = 0.0  # fraction among parameters' .grad (None: not taken)
    subnormal_trace: float = 0.0  # fraction among the traced norms g_t

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Health:
        """Inverse of `to_dict`."""
        layers = [LayerHealth.from_dict(d) for d in data.get("layers", [])]
        return cls(**{**data, "layers": layers})


def layer_health(run: LayerRun, *, threshold: float = SATURATION_THRESHOLD) -> LayerHealth:
    """Saturation, dead units and gate statistics of one replayed layer."""
    m = run.matrix
    report = LayerHealth(
        name=m.name,
        kind=m.kind,
        layer=m.layer,
        direction=m.direction,
        activation=m.activation,
        examples=int(run.h_prev.shape[0]),
    )
    hidden = m.hidden_size
    if m.kind == "rnn":
        pre = run.pre_x + run.pre_h  # (B, T, H)
        if m.activation in _PEAK:
            slope = activation_derivative(run, pre).abs() / _PEAK[m.activation]
            report.saturated = float((slope < threshold).double().mean())
        elif m.activation in RELU_FAMILY:
            never = (pre <= 0).all(dim=1).all(dim=0)  # (H,)
            report.dead_units = int(never.sum())
            report.dead = float(never.double().mean())
        return report
    if m.kind == "lstm":
        i, f, g, o = (pre.sigmoid() for pre in (run.pre_x + run.pre_h).chunk(4, dim=-1))
        g = torch.tanh((run.pre_x + run.pre_h)[..., 2 * hidden : 3 * hidden])
        report.saturated = float(((1 - g * g) < threshold).double().mean())
        report.gate_means = {"input": _mean(i), "forget": _mean(f), "output": _mean(o)}
        report.gate_histogram = _histogram(f)
        per_unit = f.mean(dim=(0, 1)).clamp_max(1 - 1e-12)  # (H,)
        report.forget_timescale = float((1.0 / (1.0 - per_unit)).median())
        return report
    x_r, x_z, x_n = run.pre_x.chunk(3, dim=-1)
    h_r, h_z, h_n = run.pre_h.chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    report.saturated = float(((1 - n * n) < threshold).double().mean())
    report.gate_means = {"reset": _mean(r), "update": _mean(z)}
    report.gate_histogram = _histogram(z)
    return report


def subnormal_fraction(values: Iterable[torch.Tensor | np.ndarray]) -> float:
    """Fraction of entries that are subnormal (0 < |x| < smallest normal of their dtype)."""
    count = total = 0
    for value in values:
        t = torch.as_tensor(value)
        if not t.is_floating_point() or t.numel() == 0:
            continue
        tiny = torch.finfo(t.dtype).tiny
        a = t.detach().abs()
        count += int(((a > 0) & (a < tiny)).sum())
        total += t.numel()
    return count / total if total else 0.0


def _mean(t: torch.Tensor) -> float:
    return float(t.mean())


def _histogram(t: torch.Tensor) -> list[float]:
    values = t.flatten()
    counts = torch.histc(values[torch.isfinite(values)], bins=HISTOGRAM_BINS, min=0.0, max=1.0)
    total = float(counts.sum())
    return [float(c) / total if total else math.nan for c in counts]
