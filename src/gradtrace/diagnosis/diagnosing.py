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
from gradtrace.diagnosis.generic import generic_dynamics, generic_runs, generic_spectrum
from gradtrace.diagnosis.health import (
    SATURATION_THRESHOLD,
    Health,
    layer_health,
    subnormal_fraction,
)
from gradtrace.diagnosis.late_loss import LastStates, call_model, first_run
from gradtrace.diagnosis.overlap import SideWorker, side_worker
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay_found
from gradtrace.diagnosis.sensitivity import (
    OVER_SENSITIVE,
    ROW_STEP_BUDGET,
    SENSITIVITY_THRESHOLD,
    LayerSensitivity,
    diagonal_inputs,
)
from gradtrace.diagnosis.sensitivity import measure as measure_sensitivity
from gradtrace.diagnosis.speak import AdviceContext, speak
from gradtrace.diagnosis.spectrum import MatrixSpectrum, matrix_spectra
from gradtrace.errors import InvalidValue, check
from gradtrace.flow import DEFAULT_EPS
from gradtrace.models.declare import check_cells
from gradtrace.models.frontier.dynamics import diagonal_spectra, dynamics_from_inputs
from gradtrace.models.introspect import entry_matrices, recurrent_matrices, recurrent_modules
from gradtrace.models.net import RecurrentNet


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

    def summary(self) -> str:
        """A few lines of plain text: verdict, horizon, spectra, exponents, health, advice."""
        lines = [f"verdict: {self.verdict} (T = {self.seq_len}, eps = {num(self.eps)})"]
        if self.verdict_basis:
            lines.append(f"  based on: {self.verdict_basis}")
        if self.loss_used:
            lines.append(f"  loss: {self.loss_used}")
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
    """

    entries = _validate(model, loss_fn, forward, cells, eps, k, examples, saturation_threshold)
    check(sensitivity in (None, True, False), "sensitivity", sensitivity, "True, False or None")
    check(
        isinstance(sensitivity_threshold, int | float) and sensitivity_threshold > 0,
        "sensitivity_threshold",
        sensitivity_threshold,
        "a number > 0",
    )
    from gradtrace.resources import check_memory, diagnose_estimate

    check_memory(diagnose_estimate(model, batch), max_memory, name="max_memory")
    params = [p for p in model.parameters() if p.requires_grad]
    with side_worker(params) as side:
        return _measure(
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
        )


def _measure(
    model: nn.Module,
    batch: Any,
    entries: list,
    side: SideWorker,
    *,
    loss_fn,
    forward,
    targets,
    cells,
    signal: bool,
    eps: float,
    dynamics_args: dict[str, Any],
    saturation_threshold: float,
    sensitivity: bool | None,
    sensitivity_threshold: float,
) -> Diagnosis:
    """diagnose() after validation; ``side`` takes the jobs that may run on another core."""
    from gradtrace.tracing import trace

    k, examples = dynamics_args["k"], dynamics_args["examples"]
    run = call_model(model, batch, forward)
    started = time.perf_counter()
    params = [p for p in model.parameters() if p.requires_grad]
    alone = all(not e.is_cell for e in entries)  # replaying calls no module (see replay_found)
    by_path = {e.path: e for e in entries}
    early: dict[str, Any] = {}  # path -> its replay and dynamics, started during the forward

    def replay_early(path: str, recording: Any) -> None:
        """A fused module's input is recorded: replay it on the other core (reads only that)."""
        if side.parallel and alone:  # the module's matrices as this forward uses them
            entry = by_path[path]
            own = entry_matrices(entry)
            early[path] = side.submit(_replayed, [entry], own, recording, dynamics_args)

    saved = [p.grad for p in params]  # the caller's gradients come back untouched
    devices = sorted({p.device.index for p in params if p.device.type == "cuda"})
    signal_profile, last = None, LastStates(entries)
    with torch.random.fork_rng(devices=devices):  # the caller's generator is untouched
        rng = torch.get_rng_state()
        try:
            for p in params:
                p.grad = None
            with (
                record(model, cells, on_fused=replay_early) as recording,
                diagonal_inputs(model) as layers,
                trace(model, cells=cells) as tracer,
                last,
            ):
                output = first_run(run, model, entries)
                loss = _loss(output, batch, loss_fn, targets, last, tracer)
                matrices = recurrent_matrices(model, cells)  # after the forward that sets them
                spectra_job = side.submit(matrix_spectra, matrices)  # beside the backward
                loss.backward()
            grads = [p.grad for p in params if p.grad is not None]
            subnormal_grads = subnormal_fraction(grads)
            profile = tracer.profile
            if signal:  # the same forward again (same dropout masks): one late loss term
                torch.set_rng_state(rng)
                with trace(model, cells=cells) as signal_tracer, LastStates(entries) as late:
                    late.loss(run(), signal_tracer).backward()
                signal_profile = signal_tracer.profile
        finally:
            for p, grad in zip(params, saved, strict=True):
                p.grad = grad
        if recording.missing(entries):  # tracing may route around a module
            torch.set_rng_state(rng)
            with torch.no_grad(), record(model, cells) as recording:
                run()
    traced = time.perf_counter()
    if spectra_job.cancel():  # the other core is still replaying: the spectra are done here
        spectra_job = SideWorker(None).submit(matrix_spectra, matrices)
    if set(early) == {e.path for e in entries} and not recording.missing(entries):
        replays = [early[e.path] for e in entries]
    else:  # beside the main thread's work below only if replaying calls no module
        worker = side if alone else SideWorker(None)
        replays = [worker.submit(_replayed, entries, matrices, recording, dynamics_args)]
    not_computed: dict[str, str] = {}
    lyapunov: list[LayerDynamics] = []
    found: list[MatrixSpectrum] = []
    for generic in generic_runs(model, recording, cells):
        if generic.why is not None:
            for part in ("lyapunov", "spectra"):
                not_computed[f"{part}: {generic.name}"] = generic.why
        else:
            lyapunov.append(generic_dynamics(generic, k=k, examples=examples))
            found.append(generic_spectrum(generic))
        not_computed[f"health: {generic.name}"] = (
            "a declared cell without a kind: its activations and gates are not known"
        )
    lyapunov += dynamics_from_inputs(
        {path: (layer, args[0]) for path, (layer, args, _) in layers.items() if args},
        examples=examples,
    )
    found += diagonal_spectra(model)
    for layer, _, _ in layers.values():
        not_computed[f"health: {layer.name}"] = (
            "an element-wise linear recurrence: no activation on the state path to saturate; "
            "its decays are in the Lyapunov exponents"
        )
    dynamic = time.perf_counter()
    sensitivities, sens_not_computed = [], {}  # measured here while the other core replays
    if sensitivity is not False:
        budget = None if sensitivity else ROW_STEP_BUDGET
        with torch.random.fork_rng(devices=devices):
            torch.set_rng_state(rng)
            measured_sens = measure_sensitivity(
                model, recording, layers, cells=cells, examples=examples, budget=budget
            )
        sensitivities = measured_sens.layers
        for name, why in measured_sens.not_computed.items():
            sens_not_computed[f"sensitivity: {name}"] = why
        named = {s.name for s in sensitivities} | {k.split(": ", 1)[1] for k in sens_not_computed}
        for layer in profile.layers:
            if layer.kind == "marked" and layer.name not in named:
                sens_not_computed[f"sensitivity: {layer.name}"] = (
                    "a recurrence marked with gradtrace.mark/mark_sequence: which parameters "
                    "carry it is not known; declare its step as a cell with "
                    "recurrent_cell(recurrent=[...], inputs=[...])"
                )
    sensed = time.perf_counter()
    parts = [job.result() for job in replays]
    runs = [r for part_runs, _ in parts for r in part_runs]
    lyapunov = [d for _, part_dyn in parts for d in part_dyn] + lyapunov
    found = spectra_job.result() + found
    measured = {d.name for d in lyapunov} | {p.split(": ", 1)[1] for p in not_computed}
    for layer in profile.layers:
        if layer.kind == "marked" and layer.name not in measured:
            not_computed[f"lyapunov: {layer.name}"] = (
                "a recurrence marked with gradtrace.mark/mark_sequence has no step function "
                "to differentiate; declare its step as a cell for Jacobians"
            )
    not_computed.update(sens_not_computed)
    replayed = time.perf_counter()
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
    judged = signal_profile if signal_profile is not None else profile
    seq_len = max((int(layer.seq_len) for layer in profile.layers), default=0)
    advice = recommend(
        profile=judged,
        spectra=found,
        health=health,
        seq_len=seq_len,
        eps=eps,
        sensitivity=sensitivities,
        sensitivity_threshold=sensitivity_threshold,
    )
    context = AdviceContext(
        built=isinstance(model, RecurrentNet),
        layers=tuple(judged.names) or tuple(s.name for s in found),
        seq_len=seq_len,
        paths=frozenset(p for p, _ in model.named_modules()),
    )
    advice = speak(advice, context)
    finished = time.perf_counter()
    loss_used = last.describe() if loss_fn is None else "the loss_fn given, on this batch"
    basis = (
        f"the gradient of one late loss term (the final state of {last.where}) "
        "with respect to every earlier state: what carries signal across time"
        if (signal_profile is not None or loss_fn is None) and not last.fallback
        else "the gradient profile of the loss used"
    )
    verdict = overall_verdict(judged, eps)
    if verdict == "healthy" and any(s.over_sensitive(sensitivity_threshold) for s in sensitivities):
        verdict = OVER_SENSITIVE
    return Diagnosis(
        verdict=verdict,
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
            "dynamics": (dynamic - traced) + (replayed - sensed),
            "sensitivity": sensed - dynamic,
            "rest": finished - replayed,
        },
        loss_used=loss_used,
        verdict_basis=basis,
        signal_profile=signal_profile,
        not_computed=not_computed,
        sensitivity=sensitivities,
        sensitivity_threshold=float(sensitivity_threshold),
    )


def _replayed(
    entries: list, matrices: list, recording: Any, dynamics_args: dict[str, Any]
) -> tuple[list, list[LayerDynamics]]:
    """The recorded layers replayed in float64, and their Lyapunov exponents and products."""
    runs = replay_found(entries, matrices, recording)
    return runs, [layer_dynamics(r, **dynamics_args) for r in runs]


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


def _loss(output, batch, loss_fn, targets, last: LastStates, tracer: Any) -> torch.Tensor:
    if loss_fn is None:
        loss = last.loss(output, tracer)
    else:
        loss = loss_fn(output, targets if targets is not None else batch)
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
