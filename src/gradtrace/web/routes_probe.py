"""/api/options and /api/probe: run a real model through gradtrace's probe, one at a time."""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from fastapi import APIRouter, HTTPException

from gradtrace.bounds import WEB
from gradtrace.display import readable_layer
from gradtrace.errors import GradtraceError
from gradtrace.flow import decay_factor, horizon, relative_profile, verdict
from gradtrace.report.records import Curve
from gradtrace.report.sources.probe import probe_parts, spectrum_name
from gradtrace.report.spec import clean
from gradtrace.web.jobs import JobBoard
from gradtrace.web.schemas import (
    COST,
    MAX_PROBE_WORK,
    STATE_DEFAULT,
    WORK_FORMULA,
    ProbeRequest,
)


def probe_spec(req: ProbeRequest) -> Any:
    """The library's ProbeSpec for a request (validated again there, bounded by WEB)."""
    from gradtrace.diagnosis import ProbeSpec

    spec = ProbeSpec(
        model=req.model_spec(),
        seq_len=req.seq_len,
        batch_size=req.batch_size,
        seed=req.seed,
        eps=req.eps,
        dtype=req.dtype,
        task=req.task,
    )
    spec.check_bounds(WEB)
    return spec


def _sensitivities(data: dict[str, Any]) -> dict[str, tuple[float | None, bool | None]]:
    """Layer (in words) -> (ratio, over-sensitive) of diagnose's curse-of-memory measure.

    The ratio is diagnose's: the RMS sensitivity of h_T to the recurrent parameters over that
    to the input parameters; a layer is over-sensitive at or above its threshold.
    """
    diag = data.get("diagnosis") or {}
    threshold = diag.get("sensitivity_threshold")
    out: dict[str, tuple[float | None, bool | None]] = {}
    for sens in diag.get("sensitivity") or []:
        ratio = sens.get("ratio")
        finite = isinstance(ratio, int | float) and math.isfinite(ratio)
        flag = None if threshold is None or not finite else bool(ratio >= threshold)
        out[readable_layer(str(sens.get("name")))] = (ratio if finite else None, flag)
    return out


def _layer_view(
    curve: Curve, eps: float, lyapunov: float | None, sensitivity: tuple[Any, Any]
) -> dict[str, Any]:
    r = relative_profile(curve.g)
    lagged = curve.g[::-1]
    return {
        "name": curve.name,
        "g": clean(lagged),
        "relative": clean(r),
        "g_cell": None if curve.g_cell is None else clean(curve.g_cell[::-1]),
        "decay_factor": clean([decay_factor(r)])[0],
        "horizon": horizon(r, eps),
        "verdict": verdict(r, eps),
        "lyapunov": lyapunov,
        "sensitivity": sensitivity[0],
        "over_sensitive": sensitivity[1],
    }


def _ring(data: dict[str, Any]) -> dict[str, float] | None:
    """The LRU's initialization ring (r_min, r_max, max_phase) of a probe's spec, if an LRU."""
    from gradtrace.models import ModelSpec

    model = (data.get("spec") or {}).get("model")
    if not isinstance(model, dict) or model.get("cell") != "lru":
        return None
    r_min, r_max, max_phase = ModelSpec.model_validate(model).lru_ring()
    return {"r_min": r_min, "r_max": r_max, "max_phase": max_phase}


def _spectrum_view(s: dict[str, Any], ring: dict[str, float] | None) -> dict[str, Any]:
    return {
        "name": spectrum_name(s),
        "layer": readable_layer(str(s.get("name", ""))),
        "kind": s.get("kind"),
        "gate": s.get("gate"),
        "spectral_radius": s.get("spectral_radius"),
        "max_singular": s.get("max_singular"),
        "eigenvalues": s.get("eigenvalues") or [],
        "ring": ring if s.get("kind") == "lru" else None,
    }


# a whole layer name of gradtrace's own model in running text; a parameter path such as
# layers.0.theta_log (which the advice names for an optimizer group) is left as it is
_LAYER_IN_TEXT = re.compile(r"\blayers\.\d+(?:\.l0|\.cell)?(?:\.reverse)?(?![.\w])")


def _readable_advice(rec: dict[str, Any]) -> dict[str, Any]:
    """A recommendation with its layer names in words ("(layers.0.l0)" -> "(layer 1)")."""
    out = dict(rec)
    for key in ("finding", "advice"):
        if isinstance(out.get(key), str):
            out[key] = _LAYER_IN_TEXT.sub(lambda m: readable_layer(m.group(0)), out[key])
    return out


def _not_computed(data: dict[str, Any]) -> dict[str, str]:
    """diagnose's "part: layer" -> why, with the layer names readable."""
    found = (data.get("diagnosis") or {}).get("not_computed") or {}
    out = {}
    for key, why in found.items():
        part, _, name = str(key).partition(": ")
        out[f"{part}: {readable_layer(name)}" if name else part] = str(why)
    return out


def probe_view(result: Any) -> dict[str, Any]:
    """What the probe page draws: per-layer curves by lag, spectra, health, verdict, advice."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    parts = probe_parts(data)
    ring = _ring(data)
    sens = _sensitivities(data)
    layers = [
        _layer_view(c, parts.eps, parts.lyapunov.get(c.name), sens.get(c.name, (None, None)))
        for c in parts.curves
    ]
    first = layers[0] if layers else {"decay_factor": None, "horizon": None}
    health = parts.health
    return {
        "label": data.get("label") or parts.label,
        "verdict": parts.verdict,
        "decay_factor": data.get("gamma_hat", first["decay_factor"]),
        "horizon": data.get("horizon", first["horizon"]),
        "seq_len": max((len(layer["g"]) for layer in layers), default=0),
        "eps": parts.eps,
        "seconds": parts.seconds or 0.0,
        "layers": layers,
        "spectra": [_spectrum_view(s, ring) for s in parts.spectra],
        "not_computed": _not_computed(data),
        "health": health.to_dict()
        if health is not None
        else {"title": "", "columns": [], "rows": []},
        "recommendations": [_readable_advice(r) for r in parts.recommendations],
    }


def constraints() -> dict[str, Any]:
    """Which combinations the probe accepts, for the form to offer only those."""
    from gradtrace.init import GATED_ONLY, INITIALIZERS, RNN_ONLY, SCALE_MEANING
    from gradtrace.models.spec import FRONTIER_CELLS, FRONTIER_FIELDS, LRU_DEFAULTS, TORCH_CELLS

    def inits(cell: str) -> list[str]:
        if cell in FRONTIER_CELLS:
            return ["default"]  # each has its paper's own initialization
        return [i for i in INITIALIZERS if i not in (GATED_ONLY if cell == "rnn" else RNN_ONLY)]

    return {
        "activations_by_cell": {c: _ACTIVATIONS_BY_CELL.get(c, ["tanh"]) for c in _CELLS},
        "inits_by_cell": {c: inits(c) for c in _CELLS},
        "forget_bias_cells": ["lstm", "gru"],
        "layer_norm_cells": list(TORCH_CELLS),
        # field -> the cells it applies to; unset means the paper's default
        "fields_by_cell": {f: list(cells) for f, cells in FRONTIER_FIELDS.items()},
        "field_defaults": {
            **{k: round(v, 6) for k, v in LRU_DEFAULTS.items()},
            "state_size": "H (LRU), " + str(STATE_DEFAULT["selective_ssm"]) + " (selective SSM)",
            "horizon": _indrnn_horizon(),
        },
        "inits_without_scale": [
            i for i in INITIALIZERS if i in SCALE_MEANING and SCALE_MEANING[i] is None
        ],
        "scale_minimum": {"chrono": 2.0},
        "scale_required": ["chrono"],
        "work": {
            "max": MAX_PROBE_WORK,
            "cost": {c: list(COST[c]) for c in _CELLS},
            "state_default": STATE_DEFAULT,
            "formula": WORK_FORMULA,
        },
    }


def _indrnn_horizon() -> int:
    from gradtrace.models.frontier import DEFAULT_HORIZON

    return int(DEFAULT_HORIZON)


_CELLS = ["rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"]
_ACTIVATIONS = ["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"]
_ACTIVATIONS_BY_CELL = {"rnn": _ACTIVATIONS[:5], "exprnn": ["modrelu", "tanh"]}


def _options() -> dict[str, Any]:
    from gradtrace.init import INITIALIZERS
    from gradtrace.tasks import TASKS

    return {
        "constraints": constraints(),
        "defaults": ProbeRequest().model_dump(),  # what an unset field of a request means
        "cells": _CELLS,
        "cell_labels": _cell_labels(),
        "activations": _ACTIVATIONS,
        "inits": list(INITIALIZERS),
        "tasks": list(TASKS),
        "bounds": {
            "hidden_size": WEB.hidden_size,
            "num_layers": WEB.num_layers,
            "seq_len": WEB.seq_len,
            "batch_size": WEB.batch_size,
            "input_size": WEB.input_size,
            "work": MAX_PROBE_WORK,
        },
    }


def _cell_labels() -> dict[str, str]:
    from gradtrace.models.spec import FRONTIER_LABELS

    return {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", **FRONTIER_LABELS}


def _run(spec: Any) -> dict[str, Any]:
    from gradtrace.diagnosis import probe

    try:
        return probe_view(probe(spec))
    except GradtraceError:
        raise
    except ValueError as e:
        raise ValueError(" ".join(str(e).split())) from e


def probe_router(
    *, lock: threading.Lock, probe_wait_s: float, jobs: JobBoard | None = None
) -> APIRouter:
    """Routes of the probe lab; `lock` lets one probe run at a time (others wait, then 429).

    ``jobs`` holds the probe jobs started through /api/probe/jobs (default: a new board).
    """
    router = APIRouter()
    board = jobs if jobs is not None else JobBoard(lock)

    @router.post("/probe/jobs", status_code=202, summary="Start a probe; poll it, or cancel it")
    def start_job(req: ProbeRequest) -> dict[str, Any]:
        spec = probe_spec(req)
        job = board.start(req.work, lambda: _run(spec))
        if job is None:
            raise HTTPException(429, "another probe is running; try again in a few seconds")
        return job.view()

    @router.get("/probe/jobs/{job_id}", summary="A probe job's state, estimated progress, result")
    def get_job(job_id: str) -> dict[str, Any]:
        job = board.get(job_id)
        if job is None:
            raise HTTPException(404, f"no probe job {job_id!r}")
        return job.view()

    @router.delete("/probe/jobs/{job_id}", summary="Cancel a running probe job")
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = board.cancel(job_id)
        if job is None:
            raise HTTPException(404, f"no probe job {job_id!r}")
        return job.view()

    @router.get("/options", summary="Choices and size limits of the probe lab")
    def options() -> dict[str, Any]:
        return _options()

    @router.post("/probe", summary="Probe one model: gradient against lag, spectra, health, advice")
    def run_probe(req: ProbeRequest) -> dict[str, Any]:
        from gradtrace.diagnosis import probe

        spec = probe_spec(req)  # validate fully before waiting for the lock
        if not lock.acquire(timeout=probe_wait_s):
            raise HTTPException(429, "another probe is running; try again in a few seconds")
        try:
            result = probe(spec)
        except GradtraceError:
            raise
        except ValueError as e:
            raise HTTPException(422, " ".join(str(e).split())) from e
        finally:
            lock.release()
        return probe_view(result)

    return router
