"""diagnose(): trace, spectra, Lyapunov exponents, unit health and advice for any recurrent model.

Cost is bounded: the gradient profile is traced over the whole batch; the float64 replay behind
unit health uses the first b examples with b * T * gates * H <= 2^20 (at least one); Jacobians,
Lyapunov exponents and product norms use the first ``examples`` examples (default 1), with
product norms up to the lag a fixed budget of n^3 matmuls allows (see dynamics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace import display
from gradtrace.diagnosis.advice import Recommendation, num
from gradtrace.diagnosis.dynamics import LayerDynamics
from gradtrace.diagnosis.health import (
    SATURATION_THRESHOLD,
    Health,
)
from gradtrace.diagnosis.overlap import side_worker
from gradtrace.diagnosis.sensitivity import (
    SENSITIVITY_THRESHOLD,
    LayerSensitivity,
)
from gradtrace.diagnosis.spectrum import MatrixSpectrum
from gradtrace.errors import check
from gradtrace.flow import DEFAULT_EPS
from gradtrace.models.declare import check_cells
from gradtrace.models.introspect import recurrent_modules


@dataclass
class Diagnosis:
    """Everything diagnose() measured about one model on one batch (JSON-able).

    ``verdict`` is the worst over the layers whose r_k is defined (see advice.measured_layers).
    """

    verdict: str
    seq_len: int
    eps: float
    loss: float
    profile: Any  # gradtrace.tracing.GradientProfile
    spectra: list[MatrixSpectrum] = field(default_factory=list)
    lyapunov: list[LayerDynamics] = field(default_factory=list)
    health: Health = field(default_factory=Health)
    recommendations: list[Recommendation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: trace, dynamics, rest
    loss_used: str = ""  # which loss the profile is the gradient of
    verdict_basis: str = ""  # what the verdict rests on
    signal_profile: Any = None  # GradientProfile of one late loss term (None: same as profile)
    not_computed: dict[str, str] = field(default_factory=dict)  # part -> why it is missing
    sensitivity: list[LayerSensitivity] = field(default_factory=list)  # the curse of memory
    sensitivity_threshold: float = SENSITIVITY_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (non-finite floats become None)."""
        return jsonable(
            {
                "verdict": self.verdict,
                "seq_len": self.seq_len,
                "eps": self.eps,
                "loss": self.loss,
                "profile": self.profile.to_dict(),
                "spectra": [s.to_dict() for s in self.spectra],
                "lyapunov": [d.to_dict() for d in self.lyapunov],
                "health": self.health.to_dict(),
                "recommendations": [r.to_dict() for r in self.recommendations],
                "timings": dict(self.timings),
                "loss_used": self.loss_used,
                "verdict_basis": self.verdict_basis,
                "signal_profile": None
                if self.signal_profile is None
                else self.signal_profile.to_dict(),
                "not_computed": dict(self.not_computed),
                "sensitivity": [s.to_dict() for s in self.sensitivity],
                "sensitivity_threshold": self.sensitivity_threshold,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        """Inverse of `to_dict`."""
        from gradtrace.tracing import GradientProfile

        return cls(
            verdict=data["verdict"],
            seq_len=int(data["seq_len"]),
            eps=float(data["eps"]),
            loss=_float(data.get("loss")),
            profile=GradientProfile.from_dict(data["profile"]),
            spectra=[MatrixSpectrum.from_dict(s) for s in data.get("spectra", [])],
            lyapunov=[LayerDynamics.from_dict(d) for d in data.get("lyapunov", [])],
            health=Health.from_dict(data.get("health", {})),
            recommendations=[Recommendation.from_dict(r) for r in data.get("recommendations", [])],
            timings=dict(data.get("timings", {})),
            loss_used=str(data.get("loss_used", "")),
            verdict_basis=str(data.get("verdict_basis", "")),
            signal_profile=None
            if data.get("signal_profile") is None
            else GradientProfile.from_dict(data["signal_profile"]),
            not_computed={str(k): str(v) for k, v in (data.get("not_computed") or {}).items()},
            sensitivity=[LayerSensitivity.from_dict(s) for s in data.get("sensitivity") or []],
            sensitivity_threshold=float(data.get("sensitivity_threshold") or SENSITIVITY_THRESHOLD),
        )

    @property
    def judged_profile(self) -> Any:
        """The profile the verdict and the advice rest on: one late loss term's where a loss_fn
        was given (``signal_profile``), else ``profile``."""
        return self.profile if self.signal_profile is None else self.signal_profile

    def summary(self) -> str:
        """A few lines of plain text: verdict, horizon, spectra, exponents, health, advice."""
        lines = [f"verdict: {self.verdict} (T = {self.seq_len}, eps = {num(self.eps)})"]
        if self.verdict_basis:
            lines.append(f"  based on: {self.verdict_basis}")
        if self.loss_used:
            lines.append(f"  loss: {self.loss_used}")
        lines += [f"  {line}" for line in self._layer_lines(self.judged_profile)]
        if self.signal_profile is not None:
            lines.append("  the gradient of the loss given, for comparison:")
            lines += [f"    {line}" for line in self._layer_lines(self.profile)]
        for s in self.spectra:
            gate = "" if s.gate == "h" else f"[{s.gate}]"
            lines.append(
                f"  {s.name}{gate}: spectral radius {num(s.spectral_radius)}, "
                f"largest singular value {num(s.max_singular)}"
            )
        for d in self.lyapunov:
            top = ", ".join(num(e) for e in d.exponents[:3])
            lines.append(f"  {d.name}: Lyapunov exponents {top} per step")
        for s in self.sensitivity:
            flag = (
                ", over-sensitive (curse of memory)"
                if s.over_sensitive(self.sensitivity_threshold)
                else ""
            )
            lines.append(
                f"  {s.name}: parameter sensitivity {num(s.ratio)}x (dh_T/dtheta, recurrent vs "
                f"input parameters, RMS per parameter){flag}"
            )
        for h in self.health.layers:
            parts = []
            if h.saturated is not None:
                parts.append(f"{num(100 * h.saturated)}% saturated")
            if h.dead is not None:
                parts.append(f"{num(100 * h.dead)}% dead")
            parts += [f"{gate} gate {num(v)}" for gate, v in h.gate_means.items()]
            lines.append(f"  {h.name}: " + ", ".join(parts))
        lines += [f"  not computed: {part}: {why}" for part, why in self.not_computed.items()]
        lines += [f"advice [{r.code}] {r.finding}: {r.advice}" for r in self.recommendations]
        if not self.recommendations:
            lines.append("advice: none (the gradient reaches every step)")
        return "\n".join(lines)

    def _layer_lines(self, profile: Any) -> list[str]:
        lines = []
        for layer in profile.layers:
            h = layer.horizon(self.eps)
            reach = f"horizon {h}" if h is not None else "horizon beyond T"
            lines.append(
                f"{layer.name}: gamma_hat {num(layer.decay_factor)}, {reach}, "
                f"{layer.verdict(self.eps)}"
            )
        return lines

    def __repr__(self) -> str:
        return display.diagnosis_repr(self)

    def _repr_html_(self) -> str:
        return display.diagnosis_summary(self).html()

    def __rich__(self) -> Any:
        return display.diagnosis_summary(self).rich()


MAX_EXAMPLES = 1024  # examples whose Jacobians are differentiated (each costs a full replay)


def diagnose(
    model: nn.Module,
    batch: Any,
    *,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    forward: Callable[[nn.Module, Any], Any] | None = None,
    targets: Any = None,
    cells: Any = None,
    signal: bool | None = None,
    eps: float = DEFAULT_EPS,
    k: int | None = None,
    examples: int = 1,
    products: bool = True,
    saturation_threshold: float = SATURATION_THRESHOLD,
    max_memory: int | None = None,
    sensitivity: bool | None = None,
    sensitivity_threshold: float = SENSITIVITY_THRESHOLD,
    parameter_grads: bool = True,
) -> Diagnosis:
    """Measure how gradients flow through ``model`` on ``batch`` and say what to change.

    Args:
        model: any module with torch nn.RNN/LSTM/GRU, torch cells or declared cells inside (a
            container of several models too).
        batch: what the model takes: a tensor of any dtype (token ids too), a tuple of
            positional arguments or a dict of keyword arguments; anything with ``forward``.
        loss_fn: ``loss_fn(output, batch)`` -> scalar (``loss_fn(output, targets)`` when
            ``targets`` is given). Default: the final hidden state of the last recurrent module
            called, summed and averaged over the batch (one late loss term).
        forward: ``forward(model, batch)`` -> output, for any other way of calling the model.
        cells: more one-step cells, as for ``gradtrace.trace``.
        signal: also trace the gradient of one late loss term (the final state) and rest the
            verdict on it. Default: whenever ``loss_fn`` is given, since a per-step loss (a
            language model's) keeps the total dL/dh_t from decaying however fast the recurrence
            forgets.
        eps: horizon threshold on r_k.
        k: Lyapunov exponents per layer (default min(H, 8)).
        examples: examples for Jacobians, Lyapunov exponents and product norms.
        products: whether to compute Jacobian-product norms.
        saturation_threshold: |phi'| below this share of its peak counts as saturated.
        max_memory: refuse a batch whose estimated memory exceeds this many bytes (default:
            what the machine has available), before anything is allocated.
        sensitivity: measure each recurrent layer's curse-of-memory sensitivity (the final
            state's sensitivity to its recurrent vs its input parameters, one backward pass
            per state unit on the first ``examples`` examples): True always, False never,
            None (default) where it costs at most 2^16 backward steps per layer (the others
            are listed in ``not_computed``).
        sensitivity_threshold: the ratio at or above which a layer is over-sensitive.
        parameter_grads: False traces the gradient through the states only: the parameters'
            gradients (a third of an LSTM backward's matrix work) are not computed, the
            batch's floating tensors carry the gradient instead (copies that require grad),
            and the share of subnormal parameter gradients is None, named in
            ``not_computed``. Every other number is the same.
    """

    entries = _validate(model, loss_fn, forward, cells, eps, k, examples, saturation_threshold)
    check(sensitivity in (None, True, False), "sensitivity", sensitivity, "True, False or None")
    check(isinstance(parameter_grads, bool), "parameter_grads", parameter_grads, "True or False")
    check(
        isinstance(sensitivity_threshold, int | float) and sensitivity_threshold > 0,
        "sensitivity_threshold",
        sensitivity_threshold,
        "a number > 0",
    )
    from gradtrace.resources import check_memory, diagnose_estimate

    check_memory(diagnose_estimate(model, batch), max_memory, name="max_memory")
    from gradtrace.diagnosis.measuring import measure
    from gradtrace.diagnosis.unfrozen import recurrent_weights_trainable

    with recurrent_weights_trainable(entries), side_worker(_trainable(model)) as side:
        return measure(
            model,
            batch,
            entries,
            side,
            loss_fn=loss_fn,
            forward=forward,
            targets=targets,
            cells=cells,
            signal=loss_fn is not None if signal is None else signal,
            eps=eps,
            dynamics_args={"k": k, "examples": examples, "products": products},
            saturation_threshold=saturation_threshold,
            sensitivity=sensitivity,
            sensitivity_threshold=sensitivity_threshold,
            parameter_grads=parameter_grads,
        )


def _trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _validate(model, loss_fn, forward, cells, eps, k, examples, threshold) -> list:
    check(isinstance(model, nn.Module), "model", type(model).__name__, "a torch.nn.Module")
    check_cells(model, cells)
    entries = recurrent_modules(model, cells)  # may be empty: recurrences marked inline
    check(loss_fn is None or callable(loss_fn), "loss_fn", loss_fn, "a callable or None")
    check(forward is None or callable(forward), "forward", forward, "a callable or None")
    check(isinstance(eps, int | float) and 0 < eps < 1, "eps", eps, "a number in (0, 1)")
    check(k is None or (isinstance(k, int) and k >= 1), "k", k, "an integer >= 1 or None")
    ok = (
        isinstance(examples, int)
        and not isinstance(examples, bool)
        and 1 <= examples <= MAX_EXAMPLES
    )
    check(ok, "examples", examples, f"an integer in 1..{MAX_EXAMPLES}")
    check(0 < threshold < 1, "saturation_threshold", threshold, "a number in (0, 1)")
    return entries


def jsonable(value: Any) -> Any:
    """Nested dicts/lists with numpy scalars made plain and non-finite floats made None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)
