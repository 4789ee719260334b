"""/api/simulate/decay and /api/simulate/layers: the simulator's numbers from gradtrace.simulate.

The page computes the same numbers in the browser (static/simulate.js); these endpoints are the
reference it is tested against, and serve scripts that want them over HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gradtrace.web.schemas import DecayRequest, LayersRequest

EPS = 1e-3


def peak_derivative(activation: str) -> float:
    """sup |phi'| of an activation; "linear" (no activation) is 1."""
    if activation == "linear":
        return 1.0
    from gradtrace.simulate.activations import ACTIVATIONS

    return ACTIVATIONS[activation].sup_derivative()


def decay_view(req: DecayRequest) -> dict[str, Any]:
    """g_k / g_0 = (factor * sup|phi'|)^k for k = 0..steps, steps until eps, the decay table."""
    from gradtrace.simulate.decay import (
        SEED_FACTORS,
        SEED_STEPS,
        decay_table,
        magnitude,
        steps_until,
    )
    from gradtrace.simulate.formatting import format_param, format_value

    peak = peak_derivative(req.activation)
    effective = req.factor * peak
    curve = []
    for k in range(req.steps + 1):
        value, log10, text = magnitude(effective, k)
        curve.append({"k": k, "value": value, "log10": log10, "text": text})
    factors = sorted({*SEED_FACTORS, effective}, reverse=True)
    return {
        "factor": req.factor,
        "activation": req.activation,
        "peak_derivative": peak,
        "effective_factor": effective,
        "effective_text": format_value(effective),
        "steps": req.steps,
        "formula": f"g_k / g_0 = (gamma * max|phi'|)^k = ({format_param(req.factor)} * "
        f"{format_param(peak)})^k",
        "curve": curve,
        "until": steps_until(effective, EPS).to_dict(),
        "table": decay_table(factors, SEED_STEPS).to_dict(),
    }


def layers_view(req: LayersRequest) -> dict[str, Any]:
    """Gradient at layer i of L proportional to (w * sup|phi'|)^(L - i), with the verdict."""
    from gradtrace.simulate.formatting import format_param, format_value
    from gradtrace.simulate.layers import layer_gradients

    peak = peak_derivative(req.activation)
    effective = req.weight * peak
    return {
        "weight": req.weight,
        "activation": req.activation,
        "peak_derivative": peak,
        "effective_factor": effective,
        "effective_text": format_value(effective),
        "formula": f"gradient at layer i ~ (w * max|phi'|)^(L - i) = ({format_param(req.weight)}"
        f" * {format_param(peak)})^({req.layers} - i)",
        **layer_gradients(effective, req.layers).to_dict(),
    }


def simulate_router() -> APIRouter:
    """Routes of the simulator."""
    router = APIRouter()

    @router.post("/decay", summary="Gradient left after k steps at a per-step factor")
    def decay(req: DecayRequest) -> dict[str, Any]:
        return decay_view(req)

    @router.post("/layers", summary="Gradient reaching each layer at a weight scale")
    def layers(req: LayersRequest) -> dict[str, Any]:
        return layers_view(req)

    return router
