"""probe(): one spec -> model -> batch -> diagnosis, the unit the CLI and the web lab call.

The batch is N(0, 1) noise of shape (B, T, input_size), or a batch of a named task (then the
model takes the task's input and output sizes and, for per-step tasks, readout "all", and the
loss is the task's). The curve reported is the first recurrent layer's (layer 0, forward): the
one every input step has to reach through the whole recurrence.

dtype "auto" (the default) traces a torch-style RNN, LSTM or GRU in float32 (other cells in
float64: parts of their diagnosis, such as the LRU's lambdas, are computed in the model's
dtype) and diagnoses again in float64 when float32 could not hold the numbers exactly: a
traced norm above 1 / FLOAT32_SAFE, zero, not finite, or a subnormal parameter gradient; and,
for layers whose float32 backward does not rescale, a norm below FLOAT32_SAFE. The fused RNN,
LSTM and GRU layers of gradtrace's own models rescale: their backward carries a vanishing
gradient by exact powers of two (tracing/kernels/rescale.py), so its tiny norms keep float32's
full precision and a vanishing profile stays in float32. The model is built in float32 and
cast, and the replay, Jacobians, spectra and health are computed in float64 from the same
weights and inputs either way, so only the trace (profile and loss) carries float32 rounding.
``ProbeResult.dtype`` says which precision the trace used.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import ConfigDict, Field, ValidationError

from gradtrace import defaults, display
from gradtrace.bounds import LIBRARY, Bounds
from gradtrace.diagnosis.advice import num
from gradtrace.diagnosis.diagnosing import Diagnosis, diagnose, jsonable
from gradtrace.diagnosis.dynamics import lag_grid
from gradtrace.errors import InvalidValue, check, from_pydantic
from gradtrace.flow import DEFAULT_EPS, remaining_after
from gradtrace.models import ModelSpec, build_model
from gradtrace.models.introspect import recurrent_modules
from gradtrace.resources import Estimate, check_memory, probe_estimate
from gradtrace.strict import StrictModel

DTYPES = {"float32": torch.float32, "float64": torch.float64}
FLOAT32_SAFE = 1e-25  # traced norms this far inside float32's range keep full precision
RESCALED_CELLS = frozenset({"rnn", "lstm", "gru"})  # fused kernels with a rescaling backward


class ProbeSpec(StrictModel):
    """What to probe: a model spec, the sequence length, batch, seed, dtype and optional task."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelSpec = Field(default_factory=ModelSpec)
    seq_len: int = Field(100, ge=2, le=LIBRARY.seq_len)
    batch_size: int = Field(defaults.BATCH_SIZE, ge=1, le=LIBRARY.batch_size)
    seed: int = Field(0, ge=0, lt=2**63)
    dtype: Literal["float32", "float64", "auto"] = "auto"
    task: str | None = None
    eps: float = Field(DEFAULT_EPS, gt=0.0, lt=1.0)
    label: str | None = None

    def __init__(self, **data: Any) -> None:
        model = data.get("model")
        if isinstance(model, dict):  # validate here so its errors name "model.<field>"
            try:
                data["model"] = ModelSpec(**model)
            except InvalidValue as e:
                raise InvalidValue(f"model.{e.name}", e.value, e.allowed) from None
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise from_pydantic(error) from None

    @property
    def name(self) -> str:
        """The label, or the model's description ("tanh RNN H=64 orthogonal")."""
        return self.label or self.model.describe()

    def check_bounds(self, bounds: Bounds) -> None:
        """Raise InvalidValue when a size exceeds ``bounds`` (e.g. bounds.WEB)."""
        for field, value, top in (
            ("model.hidden_size", self.model.hidden_size, bounds.hidden_size),
            ("model.num_layers", self.model.num_layers, bounds.num_layers),
            ("model.input_size", self.model.input_size, bounds.input_size),
            ("seq_len", self.seq_len, bounds.seq_len),
            ("batch_size", self.batch_size, bounds.batch_size),
        ):
            check(value <= top, field, value, f"at most {top}")

    def estimate(self) -> Estimate:
        """Memory and time this probe will need (gradtrace.resources)."""
        return probe_estimate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeSpec:
        """Inverse of `to_dict` (unknown keys are errors)."""
        return cls(**data)

    def _repr_html_(self) -> str:
        return display.spec_summary(self).html()

    def __rich__(self) -> Any:
        return display.spec_summary(self).rich()


@dataclass
class ProbeResult:
    """A probe's numbers: the curve at a grid of lags, gamma_hat, horizon and the diagnosis."""

    spec: ProbeSpec
    diagnosis: Diagnosis
    layer: str  # the layer the curve belongs to
    lags: list[int]  # 1, 2, 5, 10, ..., T - 1
    g: list[float]  # g_{T-k} at those lags
    relative: list[float]  # r_k at those lags
    gamma_hat: float
    horizon: int | None  # None: beyond T
    seconds: float
    dtype: str = "float64"  # the precision the trace used ("auto" picks one)

    @property
    def label(self) -> str:
        """The spec's name, for tables and legends."""
        return self.spec.name

    @property
    def verdict(self) -> str:
        """The diagnosis verdict."""
        return self.diagnosis.verdict

    def curve(self) -> np.ndarray:
        """r_k at every lag k = 0..T-1 of the reported layer."""
        return np.asarray(self.diagnosis.profile.layer(self.layer).relative, dtype=np.float64)

    def sentence(self, steps: int = 50) -> str:
        """'keeps 0.93 of the signal per step; after 50 steps 0.026 remains'."""
        return decay_sentence(self.gamma_hat, steps)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (non-finite floats become None)."""
        return jsonable(
            {
                "spec": self.spec.to_dict(),
                "label": self.label,
                "layer": self.layer,
                "lags": self.lags,
                "g": self.g,
                "relative": self.relative,
                "gamma_hat": self.gamma_hat,
                "horizon": self.horizon,
                "verdict": self.verdict,
                "seconds": self.seconds,
                "dtype": self.dtype,
                "diagnosis": self.diagnosis.to_dict(),
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        """Inverse of `to_dict`."""
        spec = ProbeSpec.from_dict(data["spec"])
        return cls(
            spec=spec,
            diagnosis=Diagnosis.from_dict(data["diagnosis"]),
            layer=data["layer"],
            lags=[int(k) for k in data["lags"]],
            g=[_nan(v) for v in data["g"]],
            relative=[_nan(v) for v in data["relative"]],
            gamma_hat=_nan(data["gamma_hat"]),
            horizon=data["horizon"],
            seconds=float(data["seconds"]),
            dtype=str(data.get("dtype", "float64" if spec.dtype == "auto" else spec.dtype)),
        )

    def __repr__(self) -> str:
        return display.probe_repr(self)

    def _repr_html_(self) -> str:
        return display.probe_summary(self).html()

    def __rich__(self) -> Any:
        return display.probe_summary(self).rich()


def decay_sentence(gamma: float, steps: int = 50) -> str:
    """How much of the signal a decay factor keeps per step and after ``steps`` steps."""
    if not math.isfinite(gamma):
        return "no decay factor (too few finite gradient values)"
    return (
        f"keeps {num(gamma)} of the signal per step; "
        f"after {steps} steps {num(remaining_after(gamma, steps))} remains"
    )


def _batch(spec: ProbeSpec, generator: torch.Generator):
    """(model spec, x, loss_fn, targets) for a spec: noise, or a task's batch and loss."""
    if spec.task is None:
        shape = (spec.batch_size, spec.seq_len, spec.model.input_size)
        return spec.model, torch.randn(shape, generator=generator), None, None
    from gradtrace.tasks import TaskSpec, make_task

    task = make_task(TaskSpec(name=spec.task, seq_len=spec.seq_len))
    readout = "all" if task.readout == "all" else spec.model.readout
    readout = "last" if readout == "all" and task.readout != "all" else readout
    model_spec = ModelSpec(
        **{
            **spec.model.model_dump(),
            "input_size": task.input_size,
            "output_size": task.output_size,
            "readout": readout,
        }
    )
    x, y = task.sample(spec.batch_size, generator=generator)
    return model_spec, x, task.loss, y


def probe(spec: ProbeSpec | dict[str, Any], *, max_memory: int | None = None) -> ProbeResult:
    """Build the spec's model from its seed, draw one batch, diagnose it (global RNG untouched).

    A probe whose estimated memory exceeds ``max_memory`` bytes (default: what the machine has
    available) is refused before anything is allocated.
    """
    if not isinstance(spec, ProbeSpec):
        check(isinstance(spec, dict), "spec", type(spec).__name__, "a ProbeSpec or a dict")
        spec = ProbeSpec.from_dict(spec)
    check_memory(spec.estimate(), max_memory)
    started = time.perf_counter()
    dtype = spec.dtype
    if dtype == "auto":  # other cells compute parts in the model's dtype (the LRU's lambdas)
        dtype = "float32" if spec.model.cell in RESCALED_CELLS else "float64"
    diagnosis, rescaled = _diagnose(spec, dtype)
    if (
        spec.dtype == "auto"
        and dtype == "float32"
        and not float32_exact(diagnosis, rescaled=rescaled)
    ):
        dtype = "float64"
        diagnosis, _ = _diagnose(spec, dtype)
    layer = _first_layer(diagnosis)
    g_by_lag = np.asarray(layer.g, dtype=np.float64)[::-1]
    r = np.asarray(layer.relative, dtype=np.float64)
    lags = lag_grid(r.size)
    horizon = layer.horizon(spec.eps)
    return ProbeResult(
        spec=spec,
        diagnosis=diagnosis,
        layer=layer.name,
        lags=lags,
        g=[float(g_by_lag[k]) for k in lags],
        relative=[float(r[k]) for k in lags],
        gamma_hat=float(layer.decay_factor),
        horizon=None if horizon is None else int(horizon),
        seconds=time.perf_counter() - started,
        dtype=dtype,
    )


def _diagnose(spec: ProbeSpec, dtype: str) -> tuple[Diagnosis, bool]:
    """The spec's model and batch from its seed, in ``dtype``, diagnosed; and whether every
    recurrent layer was traced by a rescaling backward (see the module docstring)."""
    generator = torch.Generator().manual_seed(spec.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model_spec, x, loss_fn, targets = _batch(spec, generator)
        model = build_model(model_spec).to(DTYPES[dtype])
    # the task's own loss is what a probe shows; no second pass for a signal profile
    x = x.to(DTYPES[dtype])
    entries = recurrent_modules(model)
    rescaled = model_spec.cell in RESCALED_CELLS and bool(entries)
    rescaled = rescaled and all(not e.is_cell for e in entries)  # torch's fused modules only
    found = diagnose(  # a probe shows no parameter gradient: the states' alone are traced
        model, x, loss_fn=loss_fn, targets=targets, eps=spec.eps, signal=False,
        parameter_grads=False,
    )  # fmt: skip
    return found, rescaled


def float32_exact(diagnosis: Diagnosis, *, rescaled: bool = False) -> bool:
    """Whether a float32 diagnosis holds its numbers at full precision (see the module doc).

    ``rescaled``: every layer was traced by a backward that rescales vanishing gradients, so
    norms below FLOAT32_SAFE (and below float32's own range) are exact too.
    """
    health = diagnosis.health
    if (health.subnormal_grads or 0.0) > 0 or (health.subnormal_trace > 0 and not rescaled):
        return False
    if not math.isfinite(diagnosis.loss):
        return False
    for layer in diagnosis.profile.layers:
        for values in (layer.g, layer.g_cell):
            if values is None:
                continue
            a = np.abs(np.asarray(values, dtype=np.float64))
            small = np.all(a > 0.0) if rescaled else np.all(a >= FLOAT32_SAFE)
            if a.size and not (small and np.all(a <= 1 / FLOAT32_SAFE)):
                return False  # also False for nan (comparisons fail) and for zeros
    return True


def compare(
    specs: list[ProbeSpec | dict[str, Any]], *, max_memory: int | None = None
) -> list[ProbeResult]:
    """Probe several specs (validated and sized all first, so a bad one costs no work)."""
    check(len(specs) >= 1, "specs", len(specs), "at least one spec")
    valid = [s if isinstance(s, ProbeSpec) else ProbeSpec.from_dict(s) for s in specs]
    for s in valid:
        check_memory(s.estimate(), max_memory)
    return [probe(s, max_memory=max_memory) for s in valid]


def _first_layer(diagnosis: Diagnosis):
    layers = diagnosis.profile.layers
    if not layers:
        raise InvalidValue("model", "no traced layer", "a model with a recurrent layer")
    forward = [layer for layer in layers if getattr(layer, "direction", 0) in (0, "forward")]
    return min(forward or layers, key=lambda layer: int(getattr(layer, "layer", 0)))


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)
