"""Turn a traced step (gradient profile + unit health) into a record and alerts with advice.

The advice comes from ``gradtrace.diagnosis.recommend`` (the same rules ``diagnose`` uses), with
built-in fallbacks when it is unavailable.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from gradtrace.monitor.alerts import Alert, fmt
from gradtrace.monitor.records import ProfileRecord, json_safe

logger = logging.getLogger("gradtrace")

# recommendation codes that speak to each alert kind, in the order their advice is quoted
ADVICE_CODES = {
    "vanishing": ("forget-bias", "gated-cell", "orthogonal-init", "attention-readout"),
    "exploding": ("clip-gradients", "spectral-radius"),
    "saturated": ("layer-norm",),
    "dead-units": ("leaky-relu",),
}
FALLBACK_ADVICE = {
    "vanishing": "use an LSTM or GRU, orthogonal or chrono init, or a forget-gate bias of 1; "
    "clipping cannot restore a vanished signal",
    "exploding": "clip the gradient norm (clip='norm', clip_value 0.25 to 5) and rescale the "
    "recurrent weights to spectral radius <= 1 (gradtrace.init.orthogonal_ or spectral_)",
}


def profile_record(step: int, profile: Any, *, health: Any = None, eps: float) -> ProfileRecord:
    """A JSON-able record of a GradientProfile (and unit health) taken on ``step``."""
    return ProfileRecord(
        step=step,
        verdict=str(profile.verdict(eps)),
        layers=json_safe(profile.summary()),
        profile=json_safe(profile.to_dict()),
        health=None if health is None else json_safe(health.to_dict()),
    )


def recommendations(
    profile: Any, *, health: Any, seq_len: int | None, eps: float, context: Any = None
) -> list[Any]:
    """``gradtrace.diagnosis.recommend`` for this step ([] when unavailable or failing)."""
    try:
        from gradtrace.diagnosis.advice import recommend
        from gradtrace.diagnosis.speak import speak

        found = recommend(profile=profile, health=health, seq_len=seq_len, eps=eps)
        return speak(list(found), context)
    except Exception as e:  # advice is a bonus; the alert itself does not depend on it
        logger.debug("gradtrace monitor: no recommendations (%s)", e)
        return []


def profile_alerts(
    step: int, profile: Any, *, health: Any = None, eps: float, context: Any = None
) -> list[Alert]:
    """Per-layer vanishing (horizon shorter than the sequence) and exploding alerts, plus
    saturated and dead-unit alerts from unit health.

    Non-finite profiles raise nothing here: the step's own non-finite alert covers them.
    """
    layers = list(profile.layers)
    seq_len = max((int(layer.seq_len) for layer in layers), default=None)
    recs = recommendations(profile, health=health, seq_len=seq_len, eps=eps, context=context)
    alerts = []
    for layer in layers:
        verdict = layer.verdict(eps)
        gamma = layer.decay_factor
        decay = f" (decay factor {fmt(gamma)} per step)" if math.isfinite(gamma) else ""
        if verdict == "vanishing":
            h = layer.horizon(eps)
            finding = (
                f"the gradient through time falls below {fmt(eps)} of its last-step value after "
                f"{h} of {layer.seq_len} steps{decay}; earlier steps get no learning signal"
            )
            alerts.append(
                Alert(step, "vanishing", layer.name, float(h), float(layer.seq_len), finding,
                      _advice("vanishing", recs))
            )  # fmt: skip
        elif verdict == "exploding":
            peak = float(np.nanmax(layer.relative))
            finding = (
                f"the gradient through time grows to {fmt(peak)}x its last-step value over "
                f"{layer.seq_len} steps{decay}"
            )
            alerts.append(
                Alert(step, "exploding", layer.name, peak, 1.0 / eps, finding,
                      _advice("exploding", recs))
            )  # fmt: skip
    return alerts + _health_alerts(step, health, recs)


def _advice(kind: str, recs: list[Any]) -> str:
    """The advice of the first two recommendations that speak to ``kind``."""
    quoted = [r.advice for code in ADVICE_CODES[kind] for r in recs if r.code == code][:2]
    return "; or ".join(quoted) if quoted else FALLBACK_ADVICE[kind]


def _health_alerts(step: int, health: Any, recs: list[Any]) -> list[Alert]:
    """Saturated and dead-unit alerts where ``recommend`` found them, naming the worst layer."""
    if health is None:
        return []
    from gradtrace.diagnosis.advice import DEAD_LIMIT, SATURATED_LIMIT

    alerts = []
    for kind, field, limit in (
        ("saturated", "saturated", SATURATED_LIMIT),
        ("dead-units", "dead", DEAD_LIMIT),
    ):
        rec = next((r for r in recs if r.code in ADVICE_CODES[kind]), None)
        measured = [h for h in health.layers if getattr(h, field) is not None]
        if rec is None or not measured:
            continue
        worst = max(measured, key=lambda h: getattr(h, field))
        value = float(getattr(worst, field))
        alerts.append(Alert(step, kind, worst.name, value, limit, rec.finding, rec.advice))
    return alerts
