"""The measuring half of diagnose(): one traced pass, the float64 replay and what rests on it.

diagnose() (diagnosing.py) validates its arguments and sizes the work first; ``measure`` then
traces the model on its batch, replays every recorded layer in float64 (beside the trace on a
second core where overlap.py allows), and computes spectra, Lyapunov exponents, the curse of
memory's sensitivities, unit health and the advice.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace.diagnosis.advice import overall_verdict, recommend
from gradtrace.diagnosis.diagnosing import Diagnosis
from gradtrace.diagnosis.dynamics import LayerDynamics, layer_dynamics
from gradtrace.diagnosis.generic import (
    generic_dynamics,
    generic_runs,
    generic_spectrum,
    spectrum_steps,
)
from gradtrace.diagnosis.health import Health, layer_health, subnormal_fraction
from gradtrace.diagnosis.late_loss import LastStates, call_model, first_run
from gradtrace.diagnosis.overlap import SideWorker
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay_found
from gradtrace.diagnosis.sensitivity import OVER_SENSITIVE, ROW_STEP_BUDGET, diagonal_inputs
from gradtrace.diagnosis.sensitivity import measure as measure_sensitivity
from gradtrace.diagnosis.speak import AdviceContext, attention_paths, speak
from gradtrace.diagnosis.spectrum import MatrixSpectrum, matrix_spectra
from gradtrace.errors import InvalidValue
from gradtrace.models.frontier.dynamics import diagonal_spectra, dynamics_from_inputs
from gradtrace.models.introspect import entry_matrices, recurrent_matrices
from gradtrace.models.net import RecurrentNet


def measure(
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
    parameter_grads: bool = True,
) -> Diagnosis:
    """diagnose() after validation: trace, replay, dynamics, sensitivity, health and advice.

    ``side`` takes the jobs that may run on another core (see overlap.py).
    """
    from gradtrace.tracing import trace

    k, examples = dynamics_args["k"], dynamics_args["examples"]
    if not parameter_grads:  # the states' gradient flows from the inputs instead
        batch = requiring_grad(batch)
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
                p.requires_grad_(parameter_grads)
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
            subnormal_grads = subnormal_fraction(grads) if parameter_grads else None
            profile = tracer.profile
            if signal:  # the same forward again (same dropout masks): one late loss term
                torch.set_rng_state(rng)
                with trace(model, cells=cells) as signal_tracer, LastStates(entries) as late:
                    late.loss(run(), signal_tracer).backward()
                signal_profile = signal_tracer.profile
        finally:
            for p, grad in zip(params, saved, strict=True):
                p.requires_grad_(True)
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
    if not parameter_grads:
        not_computed["health: subnormal parameter gradients"] = (
            "parameter_grads=False: only the gradient through the states was traced"
        )
    lyapunov: list[LayerDynamics] = []
    found: list[MatrixSpectrum] = []
    for generic in generic_runs(model, recording, cells):
        if generic.why is not None:
            for part in ("lyapunov", "spectra"):
                not_computed[f"{part}: {generic.name}"] = generic.why
        else:
            lyapunov.append(generic_dynamics(generic, k=k, examples=examples))
            found.append(generic_spectrum(generic))
            steps, size = len(generic.calls), lyapunov[-1].state_size
            used = len(spectrum_steps(steps, size))
            if used < steps:
                not_computed[f"spectra: {generic.name} (every step)"] = (
                    f"the medians of spectral radius and largest singular value are over {used} "
                    f"of its {steps} steps, spread evenly (the eigenvalues of all {steps} "
                    f"{size}x{size} Jacobians exceed the time budget)"
                )
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
        sens_not_computed |= _marked_unmeasured(
            profile,
            named,
            "sensitivity",
            "a recurrence marked with gradtrace.mark/mark_sequence: which parameters carry it "
            "is not known; declare its step as a cell with "
            "recurrent_cell(recurrent=[...], inputs=[...])",
        )
    sensed = time.perf_counter()
    parts = [job.result() for job in replays]
    runs = [r for part_runs, _ in parts for r in part_runs]
    lyapunov = [d for _, part_dyn in parts for d in part_dyn] + lyapunov
    found = spectra_job.result() + found
    measured = {d.name for d in lyapunov} | {p.split(": ", 1)[1] for p in not_computed}
    not_computed |= _marked_unmeasured(
        profile,
        measured,
        "lyapunov",
        "a recurrence marked with gradtrace.mark/mark_sequence has no step function to "
        "differentiate; declare its step as a cell for Jacobians",
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
        attention=attention_paths(model),
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


def _marked_unmeasured(profile: Any, measured: set[str], part: str, why: str) -> dict[str, str]:
    """``"part: name"`` -> why for each marked recurrence of ``profile`` not in ``measured``."""
    return {
        f"{part}: {layer.name}": why
        for layer in profile.layers
        if layer.kind == "marked" and layer.name not in measured
    }


def _replayed(
    entries: list, matrices: list, recording: Any, dynamics_args: dict[str, Any]
) -> tuple[list, list[LayerDynamics]]:
    """The recorded layers replayed in float64, and their Lyapunov exponents and products."""
    runs = replay_found(entries, matrices, recording)
    return runs, [layer_dynamics(r, **dynamics_args) for r in runs]


def requiring_grad(batch: Any) -> Any:
    """``batch`` with each floating tensor replaced by a detached copy that requires grad
    (tuples, lists and dicts followed; anything else as it is)."""
    if isinstance(batch, torch.Tensor):
        return batch.detach().requires_grad_() if batch.is_floating_point() else batch
    if isinstance(batch, dict):
        return {key: requiring_grad(value) for key, value in batch.items()}
    if isinstance(batch, tuple | list):
        values = [requiring_grad(value) for value in batch]
        return type(batch)(*values) if hasattr(batch, "_fields") else type(batch)(values)
    return batch


def _loss(output, batch, loss_fn, targets, last: LastStates, tracer: Any) -> torch.Tensor:
    if loss_fn is None:
        loss = last.loss(output, tracer)
    else:
        loss = loss_fn(output, targets if targets is not None else batch)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise InvalidValue("loss_fn", getattr(loss, "shape", loss), "must return a scalar tensor")
    if not loss.requires_grad:
        raise InvalidValue(
            "model",
            "a loss that requires no gradient",
            "a loss that depends on the recurrent states through tensors that require grad "
            "(frozen recurrent modules and cells are unfrozen for the diagnosis; a state marked "
            "inline needs its own weights to require grad)",
        )
    return loss.reshape(())
