"""Claims about ReLU-family RNNs: slope-1 gradients, dying units and Leaky ReLU's remedy."""

from __future__ import annotations

from typing import Any

import torch

from gradtrace.audit.claim import Finding, claim, graded
from gradtrace.audit.measure import budget_flow, build, last_step_loss, noise, num, show_horizon

DEAD_BIAS = -2.0  # the input bias given to half of the units to push them below zero


@claim(
    id="relu-slope-keeps-gradients",
    seeds=("000", "003"),
    text="Because ReLU's derivative is 1 for positive inputs, gradients through ReLU units do "
    "not shrink exponentially.",
    method="traced horizons of ReLU RNNs with torch's default weights and with identity W_hh "
    "(IRNN), vs a tanh RNN",
    theme="architectures",
)
def relu_slope_keeps_gradients(ctx: Any) -> Finding:
    """The slope is 1, but W_hh still multiplies in: default-init ReLU RNNs vanish fast."""
    flows = {
        "relu default": budget_flow({"activation": "relu"}, ctx),
        "relu identity (IRNN)": budget_flow({"activation": "relu", "init": "identity"}, ctx),
        "tanh default": budget_flow({}, ctx),
    }
    relu, irnn, tanh = flows.values()
    summary = (
        f"ReLU RNN with torch's default weights: horizon {show_horizon(relu['horizon'])} "
        f"(gamma_hat {num(relu['gamma_hat'])}, tanh: {show_horizon(tanh['horizon'])}); with "
        f"identity W_hh: {show_horizon(irnn['horizon'])}: the recurrent matrix decides"
    )
    evidence = {"flows": flows, "T": ctx.budget.trace_len}
    return graded(
        summary,
        evidence,
        full=relu["verdict"] != "vanishing",
        partial=irnn["verdict"] != "vanishing",
    )


def _kill_half_(model: torch.nn.Module, hidden: int) -> torch.Tensor:
    """Give the first half of the units a large negative input bias; return their mask."""
    dead = torch.zeros(hidden, dtype=torch.bool)
    dead[: hidden // 2] = True
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("bias_ih_l0", "bias_ih")):
                param[dead] = DEAD_BIAS
    return dead


def _unit_gradients(model: torch.nn.Module, x: torch.Tensor, dead: torch.Tensor) -> dict:
    model.zero_grad(set_to_none=True)
    last_step_loss(model(x)).backward()
    rows: dict[str, float] = {"dead_rows": 0.0, "live_rows": 0.0}
    for name, param in model.named_parameters():
        if name.startswith("layers.") and param.grad is not None and param.dim() >= 1:
            grad = param.grad
            rows["dead_rows"] += float(grad[dead].norm() ** 2)
            rows["live_rows"] += float(grad[~dead].norm() ** 2)
    model.zero_grad(set_to_none=True)
    return {k: v**0.5 for k, v in rows.items()}


@claim(
    id="dying-relu",
    seeds=("000",),
    text="ReLU units whose inputs stay negative stop learning (zero gradient); Leaky ReLU keeps "
    "a small gradient for them.",
    method="gradtrace.diagnose dead-unit count and the exact gradient of the dead units' "
    "weights in a ReLU RNN with half its units biased negative, vs the same weights with "
    "Leaky ReLU",
    theme="architectures",
)
def dying_relu(ctx: Any) -> Finding:
    """Dead ReLU units get exactly zero gradient; the same units under Leaky ReLU do not."""
    from gradtrace.diagnosis import diagnose

    budget = ctx.budget
    hidden, T = budget.trace_hidden, min(budget.trace_len, 50)
    relu = build({"activation": "relu"}, hidden=hidden, seed=ctx.seed)
    dead = _kill_half_(relu, hidden)
    leaky = build({"activation": "leaky_relu"}, hidden=hidden, seed=ctx.seed)
    leaky.load_state_dict(relu.state_dict())
    x = noise(budget.trace_batch, T, seed=ctx.seed)
    rows = {}
    for label, model in (("relu", relu), ("leaky_relu", leaky)):
        health = diagnose(model, x, k=1, products=False).health.layers[0]
        rows[label] = {
            "dead_fraction": health.dead,
            "dead_units": health.dead_units,
            "gradient_norm": _unit_gradients(model, x, dead),
        }
    relu_dead = rows["relu"]["gradient_norm"]["dead_rows"]
    leaky_dead = rows["leaky_relu"]["gradient_norm"]["dead_rows"]
    evidence = {"models": rows, "biased_units": int(dead.sum()), "bias": DEAD_BIAS, "T": T}
    summary = (
        f"{rows['relu']['dead_units']} of {hidden} ReLU units never activate and their weights "
        f"get gradient {relu_dead:g}; with Leaky ReLU the same units get {num(leaky_dead)} "
        f"(live units: {num(rows['leaky_relu']['gradient_norm']['live_rows'])})"
    )
    ok = (rows["relu"]["dead_units"] or 0) > 0 and relu_dead == 0.0 and leaky_dead > 0.0
    return Finding("confirmed" if ok else "refuted", summary, evidence)
