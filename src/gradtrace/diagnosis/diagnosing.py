"""diagnose(): trace, spectra, Lyapunov exponents, unit health and advice for any recurrent model.

Cost is bounded: the gradient profile is traced over the whole batch; the float64 replay behind
unit health uses the first b examples with b * T * gates * H <= 2^20 (at least one); Jacobians,
Lyapunov exponents and product norms use the first ``examples`` examples (default 1), with
product norms up to the lag a fixed budget of n^3 matmuls allows (see dynamics).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace import display
from gradtrace.diagnosis.advice import Recommendation, num, overall_verdict, recommend
from gradtrace.diagnosis.dynamics import LayerDynamics, layer_dynamics
from gradtrace.diagnosis.health import (
    SATURATION_THRESHOLD,
    Health,
    layer_health,
    subnormal_fraction,
)
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay
from gradtrace.diagnosis.spectrum import MatrixSpectrum, spectra
from gradtrace.errors import InvalidValue, UnsupportedModel, check
from gradtrace.flow import DEFAULT_EPS
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
        )

    def summary(self) -> str:
        """A few lines of plain text: verdict, horizon, spectra, exponents, health, advice."""
        lines = [f"verdict: {self.verdict} (T = {self.seq_len}, eps = {num(self.eps)})"]
        for layer in self.profile.layers:
            h = layer.horizon(self.eps)
            reach = f"horizon {h}" if h is not None else "horizon beyond T"
            lines.append(
                f"  {layer.name}: gamma_hat {num(layer.decay_factor)}, {reach}, "
                f"{layer.verdict(self.eps)}"
            )
        for s in self.spectra:
            gate = "" if s.gate == "h" else f"[{s.gate}]"
            lines.append(
                f"  {s.name}{gate}: spectral radius {num(s.spectral_radius)}, "
                f"largest singular value {num(s.max_singular)}"
            )
        for d in self.lyapunov:
            top = ", ".join(num(e) for e in d.exponents[:3])
            lines.append(f"  {d.name}: Lyapunov exponents {top} per step")
        for h in self.health.layers:
            parts = []
            if h.saturated is not None:
                parts.append(f"{num(100 * h.saturated)}% saturated")
            if h.dead is not None:
                parts.append(f"{num(100 * h.dead)}% dead")
            parts += [f"{gate} gate {num(v)}" for gate, v in h.gate_means.items()]
            lines.append(f"  {h.name}: " + ", ".join(parts))
        lines += [f"advice [{r.code}] {r.finding}: {r.advice}" for r in self.recommendations]
        if not self.recommendations:
            lines.append("advice: none (the gradient reaches every step)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return display.diagnosis_repr(self)

    def _repr_html_(self) -> str:
        return display.diagnosis_summary(self).html()

    def __rich__(self) -> Any:
        return display.diagnosis_summary(self).rich()


def default_loss(output: Any, model: nn.Module) -> torch.Tensor:
    """Sum over output dims of the last step's output, summed over the batch, / batch size.

    A 3-d output is read as (B, T, O) (as (T, B, O) when ``model`` itself is an nn.RNNBase
    without batch_first); a 2-d output as (B, O); a tuple output uses its first element.
    """
    out = output[0] if isinstance(output, tuple | list) else output
    if not isinstance(out, torch.Tensor):
        raise InvalidValue("output", type(out).__name__, "a tensor (or a tuple led by one)")
    if out.dim() == 3:
        time_major = isinstance(model, nn.RNNBase) and not model.batch_first
        out = out[-1] if time_major else out[:, -1]
    batch = out.shape[0] if out.dim() >= 1 else 1
    return out.sum() / batch


def diagnose(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    loss_fn: Callable[..., torch.Tensor] | None = None,
    targets: Any = None,
    eps: float = DEFAULT_EPS,
    k: int | None = None,
    examples: int = 1,
    products: bool = True,
    saturation_threshold: float = SATURATION_THRESHOLD,
) -> Diagnosis:
    """Measure how gradients flow through ``model`` on ``inputs`` and say what to change.

    Args:
        model: any module with torch nn.RNN/LSTM/GRU, torch cells or gradtrace cells inside.
        inputs: one batch, as the model takes it.
        loss_fn: ``loss_fn(output, targets)`` (``loss_fn(output)`` without targets); default
            ``default_loss``: the last step's outputs summed, averaged over the batch.
        eps: horizon threshold on r_k.
        k: Lyapunov exponents per layer (default min(H, 8)).
        examples: examples for Jacobians, Lyapunov exponents and product norms.
        products: whether to compute Jacobian-product norms.
        saturation_threshold: |phi'| below this share of its peak counts as saturated.
    """
    from gradtrace.tracing import trace

    _validate(model, inputs, loss_fn, eps, k, examples, saturation_threshold)
    started = time.perf_counter()
    params = [p for p in model.parameters() if p.requires_grad]
    saved = [p.grad for p in params]  # the caller's gradients come back untouched
    try:
        for p in params:
            p.grad = None
        with record(model) as recording, trace(model) as tracer:
            output = model(inputs)
            loss = _loss(output, model, loss_fn, targets)
            loss.backward()
        grads = [p.grad for p in params if p.grad is not None]
        subnormal_grads = subnormal_fraction(grads)
    finally:
        for p, grad in zip(params, saved, strict=True):
            p.grad = grad
    profile = tracer.profile
    if recording.missing(recurrent_modules(model)):  # tracing may route around a module
        with torch.no_grad(), record(model) as recording:
            model(inputs)
    traced = time.perf_counter()
    runs = replay(model, recording)
    lyapunov = [layer_dynamics(r, k=k, examples=examples, products=products) for r in runs]
    dynamic = time.perf_counter()
    dtype = params[0].dtype if params else torch.float32
    health = Health(
        layers=[layer_health(r, threshold=saturation_threshold) for r in runs],
        threshold=saturation_threshold,
        subnormal_grads=subnormal_grads,
        subnormal_trace=subnormal_fraction(
            torch.as_tensor(np.asarray(layer.g, dtype=np.float64)).to(dtype)
            for layer in profile.layers
        ),
    )
    found = spectra(model)
    seq_len = max((int(layer.seq_len) for layer in profile.layers), default=0)
    advice = recommend(profile=profile, spectra=found, health=health, seq_len=seq_len, eps=eps)
    finished = time.perf_counter()
    return Diagnosis(
        verdict=overall_verdict(profile, eps),
        seq_len=seq_len,
        eps=eps,
        loss=float(loss.detach()),
        profile=profile,
        spectra=found,
        lyapunov=lyapunov,
        health=health,
        recommendations=advice,
        timings={
            "trace": traced - started,
            "dynamics": dynamic - traced,
            "rest": finished - dynamic,
        },
    )


def _validate(model, inputs, loss_fn, eps, k, examples, threshold) -> None:
    check(isinstance(model, nn.Module), "model", type(model).__name__, "a torch.nn.Module")
    if not recurrent_modules(model):
        raise UnsupportedModel(
            f"{type(model).__name__} has no recurrent layer "
            "(nn.RNN/LSTM/GRU, a torch cell or a gradtrace cell)"
        )
    check(
        isinstance(inputs, torch.Tensor) and inputs.is_floating_point(),
        "inputs",
        type(inputs).__name__ if not isinstance(inputs, torch.Tensor) else inputs.dtype,
        "a floating-point tensor",
    )
    check(loss_fn is None or callable(loss_fn), "loss_fn", loss_fn, "a callable or None")
    check(isinstance(eps, int | float) and 0 < eps < 1, "eps", eps, "a number in (0, 1)")
    check(k is None or (isinstance(k, int) and k >= 1), "k", k, "an integer >= 1 or None")
    check(isinstance(examples, int) and examples >= 1, "examples", examples, "an integer >= 1")
    check(0 < threshold < 1, "saturation_threshold", threshold, "a number in (0, 1)")


def _loss(output, model, loss_fn, targets) -> torch.Tensor:
    if loss_fn is None:
        loss = default_loss(output, model)
    else:
        loss = loss_fn(output, targets) if targets is not None else loss_fn(output)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InvalidValue("loss_fn", getattr(loss, "shape", loss), "must return a scalar tensor")
    return loss.reshape(())


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
