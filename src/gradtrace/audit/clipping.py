"""Claims about gradient clipping: what it changes (scale, direction) and what it cannot fix."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.nn.utils import clip_grad_norm_, clip_grad_value_

from gradtrace.audit.budget import budget_finding, runs_at
from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.context import solved_share
from gradtrace.audit.measure import (
    build,
    flow_numbers,
    last_step_loss,
    noise,
    num,
    show_horizon,
    traced,
)

EXPLODING_LEN = 200
CLIPPED, UNCLIPPED, CONTROL = "tanh RNN", "tanh RNN (no clipping)", "LSTM"


def adding_gradient(ctx: Any, *, init: str = "default") -> tuple[torch.nn.Module, list[Any]]:
    """A tanh RNN's real gradient on one batch of the adding problem: (model, [grad tensors])."""
    from gradtrace.tasks import TaskSpec, make_task

    budget = ctx.budget
    task = make_task(TaskSpec(name="adding", seq_len=budget.trace_len))
    x, y = task.sample(budget.trace_batch, generator=torch.Generator().manual_seed(ctx.seed))
    model = build({"input_size": 2, "init": init}, hidden=budget.trace_hidden, seed=ctx.seed)
    model.zero_grad(set_to_none=True)
    task.loss(model(x.double()), y.double()).backward()
    return model, [p.grad.detach().clone() for p in model.parameters()]


def _flat(grads: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([g.reshape(-1) for g in grads])


def _clipped(model: torch.nn.Module, grads: list[torch.Tensor], how: str, limit: float):
    """The gradients after torch's clip_grad_norm_ / clip_grad_value_ (copies)."""
    for p, g in zip(model.parameters(), grads, strict=True):
        p.grad = g.clone()
    if how == "norm":
        clip_grad_norm_(model.parameters(), limit)
    else:
        clip_grad_value_(model.parameters(), limit)
    out = [p.grad.detach().clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    return out


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a, b) / (a.norm() * b.norm()))


@claim(
    id="norm-clipping-keeps-direction",
    seeds=("000",),
    text="Clipping by the global norm rescales the whole gradient and keeps its direction; "
    "clipping each value does not.",
    method="cosine between clipped and unclipped real gradients of a tanh RNN on the adding "
    "problem (torch clip_grad_norm_ / clip_grad_value_)",
    theme="clipping",
)
def norm_clipping_keeps_direction(ctx: Any) -> Finding:
    """cos(clip_norm(g), g) = 1; cos(clip_value(g), g) < 1 when some entries are clipped."""
    model, grads = adding_gradient(ctx)
    flat = _flat(grads)
    norm_limit = 0.1 * float(flat.norm())
    value_limit = 0.1 * float(flat.abs().max())
    by_norm = _flat(_clipped(model, grads, "norm", norm_limit))
    by_value = _flat(_clipped(model, grads, "value", value_limit))
    evidence = {
        "gradient_norm": float(flat.norm()),
        "norm_clip": {"max_norm": norm_limit, "cosine": _cosine(by_norm, flat)},
        "value_clip": {
            "clip_value": value_limit,
            "cosine": _cosine(by_value, flat),
            "entries_clipped": int((flat.abs() > value_limit).sum()),
            "entries": int(flat.numel()),
        },
    }
    ok = abs(evidence["norm_clip"]["cosine"] - 1.0) < 1e-12
    ok = ok and evidence["value_clip"]["cosine"] < 1.0 - 1e-6
    return Finding(
        "confirmed" if ok else "refuted",
        f"cosine to the unclipped gradient: norm clipping {evidence['norm_clip']['cosine']:.12f}, "
        f"value clipping {evidence['value_clip']['cosine']:.4f}",
        evidence,
    )


@claim(
    id="clipping-prevents-small-gradients",
    seeds=("001",),
    text="Gradient clipping scales gradients that cross a threshold so they neither explode "
    "nor become too small.",
    method="global and per-tensor norms before and after clip_grad_norm_ / clip_grad_value_ "
    "on real gradients scaled from 1e-8 to 1e3, and the traced profile of a vanishing model",
    theme="clipping",
)
def clipping_prevents_small(ctx: Any) -> Finding:
    """Clipping only ever scales down: a tiny gradient stays tiny, the profile keeps its shape."""
    model, grads = adding_gradient(ctx)
    flat = _flat(grads)
    rows, worst = [], 0.0
    for scale in (1e-8, 1e-4, 1e-2, 1.0, 1e3):
        scaled = [g * (scale / float(flat.norm())) for g in grads]
        before = float(_flat(scaled).norm())
        for how, limit in (("norm", 1.0), ("value", 0.01)):
            after_grads = _clipped(model, scaled, how, limit)
            after = float(_flat(after_grads).norm())
            per_tensor = max(
                float(a.norm() / b.norm())
                for a, b in zip(after_grads, scaled, strict=True)
                if float(b.norm()) > 0
            )
            worst = max(worst, after / before, per_tensor)
            rows.append(
                {
                    "clip": how,
                    "limit": limit,
                    "norm_before": before,
                    "norm_after": after,
                    "ratio": after / before,
                    "max_per_tensor_ratio": per_tensor,
                }
            )
    budget = ctx.budget
    vanishing = build({}, hidden=budget.trace_hidden, seed=ctx.seed)
    layer = traced(vanishing, noise(budget.trace_batch, budget.trace_len, seed=ctx.seed)).layers[0]
    evidence = {
        "cases": rows,
        "max_norm_ratio_after_over_before": worst,
        "tiny_gradient": next(r for r in rows if r["norm_before"] < 1e-7 and r["clip"] == "norm"),
        "vanishing_model_profile": flow_numbers(layer),
        "why": "clip_grad_norm_ multiplies every gradient by min(1, max_norm / ||g||) and "
        "clip_grad_value_ clamps entries to [-c, c]: neither can enlarge anything, and the "
        "per-step gradients dL/dh_t are computed before clipping",
    }
    if worst <= 1.0 + 1e-12:
        tiny = evidence["tiny_gradient"]
        return Finding(
            "refuted",
            f"clipping never enlarged a gradient (largest after/before ratio {worst:.6g}); a "
            f"gradient of norm {tiny['norm_before']:.1g} stays {tiny['norm_after']:.1g}; the "
            f"vanishing model keeps horizon {layer.horizon()} either way",
            evidence,
        )
    return Finding("confirmed", f"clipping enlarged a gradient by {worst:.3g}", evidence)


@claim(
    id="clipping-bounds-exploding-updates",
    seeds=("000", "002", "003"),
    text="Gradient clipping controls exploding gradients: an oversized gradient is scaled down "
    "to the threshold before the update.",
    method="global gradient norm of an exploding tanh RNN (N(0,1) weights) before and after "
    "clip_grad_norm_(max_norm=1)",
    theme="clipping",
)
def clipping_bounds_exploding(ctx: Any) -> Finding:
    """An exploding model's gradient norm is exactly max_norm after clipping."""
    budget = ctx.budget
    model = build({"init": "normal"}, hidden=budget.trace_hidden, seed=ctx.seed)
    # long enough to explode, short enough for the norm to stay a float64 number
    x = noise(budget.trace_batch, min(budget.trace_len, EXPLODING_LEN), seed=ctx.seed)
    profile = traced(model, x)
    model.zero_grad(set_to_none=True)
    last_step_loss(model(x)).backward()
    before = float(clip_grad_norm_(model.parameters(), 1.0))
    after = float(_flat([p.grad for p in model.parameters()]).norm())
    flow = flow_numbers(profile.layers[0])
    evidence = {"profile": flow, "norm_before": before, "norm_after": after, "max_norm": 1.0}
    ok = math.isfinite(before) and before > 1.0 and abs(after - 1.0) < 1e-6
    return Finding(
        "confirmed" if ok else "nuanced",
        f"gradient norm {num(before)} (profile: {flow['verdict']}, gamma_hat "
        f"{num(flow['gamma_hat'])}) becomes {after:.6g} after clipping at 1; it bounds the step, "
        "it does not change which time steps the gradient comes from",
        evidence,
    )


def _end_horizons(runs: list[dict[str, Any]]) -> str:
    """The traced horizons at the end of training, e.g. "4 steps" or "beyond T, 12 steps"."""
    found = [r["end_profile"] for r in runs if r.get("end_profile")]
    return ", ".join(show_horizon(p["horizon"]) for p in found)


def judge_clipping(
    clipped: list[dict[str, Any]],
    unclipped: list[dict[str, Any]],
    control: list[dict[str, Any]],
    *,
    seq_len: int,
) -> tuple[str, str]:
    """Verdict and summary from the runs' outcomes (pure; tested on made-up outcomes).

    The LSTM control (same clipping, same budget) must learn the task: otherwise a failing
    tanh RNN says nothing about vanishing gradients, only about the budget.
    """
    with_clip, without = solved_share(clipped), solved_share(unclipped)
    lstm = solved_share(control)
    if with_clip is None or without is None or lstm is None:
        return "not tested at this budget", "the training runs are missing"
    shares = (
        f"tanh RNN at T = {seq_len} solved {with_clip:.0%} with clipping, {without:.0%} "
        f"without; the LSTM control {lstm:.0%}"
    )
    if with_clip > without:
        return "nuanced", f"{shares}: clipping helped, which points at exploding steps"
    if without > 0:
        return "not tested at this budget", f"{shares}: a longer T is needed to show vanishing"
    if lstm == 0:
        return "not tested at this budget", f"{shares}: nothing learns this length here"
    return "confirmed", shares


@claim(
    id="clipping-does-not-fix-vanishing",
    seeds=("000", "002", "003"),
    text="Gradient clipping handles exploding gradients but does not fix vanishing ones.",
    method="exact check that clipping rescales the gradient by one factor, traced horizons at "
    "the end of training, and tanh RNNs trained with and without clipping (LSTM as control)",
    theme="clipping",
    runs=runs_at(CLIPPED, UNCLIPPED, CONTROL, lengths=lambda budget: (budget.long_len,)),
)
def clipping_does_not_fix_vanishing(ctx: Any) -> Finding:
    """A tanh RNN keeps its horizon and fails the same task with or without clipping."""
    budget = ctx.budget
    model, grads = adding_gradient(ctx)
    flat = _flat(grads)
    limit = 0.5 * float(flat.norm())
    clipped = _flat(_clipped(model, grads, "norm", limit))
    factor = limit / (float(flat.norm()) + 1e-6)
    scale_error = float((clipped - factor * flat).abs().max() / flat.abs().max())
    seq_len = budget.long_len
    outcomes = {name: ctx.outcomes(name, seq_len) for name in (CLIPPED, UNCLIPPED, CONTROL)}
    verdict, summary = judge_clipping(
        outcomes[CLIPPED], outcomes[UNCLIPPED], outcomes[CONTROL], seq_len=seq_len
    )
    horizons = {name: _end_horizons(runs) for name, runs in outcomes.items()}
    if all(horizons.values()):
        summary += (
            f"; traced horizon after training {horizons[CLIPPED]} with clipping, "
            f"{horizons[UNCLIPPED]} without (LSTM {horizons[CONTROL]})"
        )
    evidence = {
        "clipping_is_one_factor": {"factor": factor, "max_relative_deviation": scale_error},
        "runs": outcomes,
        "seq_len": seq_len,
    }
    return budget_finding(verdict, summary, evidence, budget)
