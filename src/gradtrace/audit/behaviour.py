"""Claims about how vanishing gradients show: recency bias, forgetting, stability, norms."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gradtrace.audit.claim import Finding, claim, graded
from gradtrace.audit.measure import (
    budget_flow,
    build,
    input_gradient_norms,
    last_step_loss,
    noise,
    num,
    show_horizon,
)

RECENT_SHARE = 0.1  # "recent" = the last 10 % of the steps
# a model whose gradient vanishes, and one whose gradient reaches the whole sequence
VANISHING = {"label": "tanh RNN", "fields": {}}
REACHING = {"label": "LSTM, forget bias 5", "fields": {"cell": "lstm", "forget_bias": 5.0}}


def recent_share(weights: np.ndarray, share: float = RECENT_SHARE) -> float:
    """Fraction of sum_t w_t that falls on the last ``share`` of the steps."""
    recent = max(1, round(share * weights.size))
    total = float(weights.sum())
    return float(weights[-recent:].sum()) / total if total > 0 else float("nan")


@claim(
    id="recency-bias",
    seeds=("001", "002"),
    text="Networks with vanishing gradients give recent inputs far more weight than distant "
    "ones and neglect the past.",
    method="share of the input-gradient mass sum_t ||dL/dx_t|| in the last 10% of the steps: a "
    "tanh RNN (vanishing) vs an LSTM with an open forget gate (not vanishing)",
    theme="architectures",
)
def recency_bias(ctx: Any) -> Finding:
    """Input-gradient mass on the last 10% of steps for a vanishing and a non-vanishing model."""
    budget = ctx.budget
    x = noise(budget.trace_batch, budget.trace_len, seed=ctx.seed)
    rows = {}
    for model_def in (VANISHING, REACHING):
        model = build(model_def["fields"], hidden=budget.trace_hidden, seed=ctx.seed)
        weights = input_gradient_norms(model, x)
        rows[model_def["label"]] = {
            "share_in_last_10pct": recent_share(weights),
            "first_over_last_input_gradient": float(weights[0] / weights[-1]),
            "flow": budget_flow(model_def["fields"], ctx),
        }
    vanishing, reaching = rows[VANISHING["label"]], rows[REACHING["label"]]
    summary = (
        f"last 10% of {budget.trace_len} steps carry {vanishing['share_in_last_10pct']:.0%} of the "
        f"input-gradient mass in a tanh RNN (horizon {show_horizon(vanishing['flow']['horizon'])})"
        f" vs {reaching['share_in_last_10pct']:.0%} in an LSTM with an open forget gate "
        f"(uniform: 10%)"
    )
    evidence = {"models": rows, "T": budget.trace_len, "recent": RECENT_SHARE}
    biased = vanishing["share_in_last_10pct"] > 0.5
    contrast = reaching["share_in_last_10pct"] < 0.5 * vanishing["share_in_last_10pct"]
    return graded(summary, evidence, full=biased and contrast, partial=biased)


def _sensitivity(model: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Output change when the first or the last input is shifted by 1 (all else equal)."""
    with torch.no_grad():
        base = model(x)
        out = {}
        for label, step in (("first_input", 0), ("last_input", -1)):
            shifted = x.clone()
            shifted[:, step] += 1.0
            out[label] = float((model(shifted) - base).abs().mean())
    return out


@claim(
    id="vanishing-makes-models-unstable",
    seeds=("001",),
    text="Vanishing gradients make a model unstable: tiny perturbations of its input lead to "
    "very different predictions.",
    method="output change when the first or last input of a sequence is shifted by 1, for a "
    "vanishing tanh RNN and an exploding (N(0, 1) weights) one",
    theme="architectures",
)
def vanishing_instability(ctx: Any) -> Finding:
    """A vanishing network is insensitive to all but recent inputs; instability is the opposite."""
    budget = ctx.budget
    x = noise(budget.trace_batch, budget.trace_len, seed=ctx.seed)
    rows = {}
    for label, fields in (
        ("vanishing (default init)", {}),
        ("exploding (N(0,1) init)", {"init": "normal"}),
    ):
        model = build(fields, hidden=budget.trace_hidden, seed=ctx.seed)
        rows[label] = {**_sensitivity(model, x), "flow": budget_flow(fields, ctx)}
    vanishing = rows["vanishing (default init)"]
    exploding = rows["exploding (N(0,1) init)"]
    summary = (
        f"shifting the first of {budget.trace_len} inputs by 1 moves a vanishing tanh RNN's "
        f"output by {vanishing['first_input']:.1g} (last input: {num(vanishing['last_input'])}); "
        f"an exploding one moves by {num(exploding['first_input'])}: sensitivity comes with "
        "exploding, not vanishing, gradients"
    )
    evidence = {"models": rows, "T": budget.trace_len, "shift": 1.0}
    insensitive = vanishing["first_input"] < 1e-6 * max(vanishing["last_input"], 1e-300)
    if insensitive:
        return Finding("refuted", summary, evidence)
    return Finding("nuanced", summary, evidence)


@claim(
    id="contractive-forgetting",
    seeds=("002",),
    text="When the recurrence contracts, hidden trajectories collapse together and the network "
    "forgets earlier inputs whatever they were.",
    method="distance between the hidden states of two sequences that differ only in their "
    "first 10 steps, step by step, for a tanh RNN with torch's default weights",
    theme="architectures",
)
def contractive_forgetting(ctx: Any) -> Finding:
    """||h_t - h'_t|| after two different prefixes decays exponentially: the past is erased."""
    from gradtrace import flow

    budget = ctx.budget
    model = build({}, hidden=budget.trace_hidden, seed=ctx.seed)
    x = noise(budget.trace_batch, budget.trace_len, seed=ctx.seed)
    other = x.clone()
    prefix = min(10, budget.trace_len // 4)
    other[:, :prefix] = noise(budget.trace_batch, prefix, seed=ctx.seed + 1)
    with torch.no_grad():
        a, _ = model.hidden_states(x)
        b, _ = model.hidden_states(other)
    distance = (a - b).norm(dim=-1).mean(dim=0).numpy()  # (T,)
    after = distance[prefix - 1 :]
    rate = flow.decay_factor(after)
    evidence = {
        "distance_at_step": {
            str(t): float(distance[t - 1])
            for t in sorted({prefix, 2 * prefix, budget.trace_len // 2, budget.trace_len})
        },
        "contraction_per_step": rate,
        "prefix": prefix,
        "T": budget.trace_len,
    }
    summary = (
        f"two sequences differing in their first {prefix} steps: hidden-state distance "
        f"{num(distance[prefix - 1])} at step {prefix}, {after[-1]:.1g} at step "
        f"{budget.trace_len} (x{num(rate)} per step)"
    )
    forgot = after[-1] < 1e-6 * after[0]
    return Finding("confirmed" if forgot else "nuanced", summary, evidence)


def _total_norms(model: torch.nn.Module, x: torch.Tensor) -> dict[str, float]:
    """The snippet's sum of per-tensor gradient norms and the global L2 norm, one backward."""
    model.zero_grad(set_to_none=True)
    last_step_loss(model(x)).backward()
    norms = [float(p.grad.norm()) for p in model.parameters() if p.grad is not None]
    model.zero_grad(set_to_none=True)
    return {
        "sum_of_tensor_norms": sum(norms),
        "global_l2_norm": float(np.sqrt(np.sum(np.square(norms)))),
    }


@claim(
    id="small-total-norm-signals-vanishing",
    seeds=("002",),
    text="Printing the total gradient norm (the snippet sums each parameter's norm) and "
    "watching for very small values diagnoses vanishing gradients.",
    method="the snippet's sum of per-tensor norms vs the global L2 norm, and the total norm of "
    "one tanh RNN on short and long sequences against its traced horizon",
    theme="architectures",
)
def small_total_norm(ctx: Any) -> Finding:
    """The total norm is dominated by recent steps: it stays put while the horizon collapses."""
    budget = ctx.budget
    model = build({}, hidden=budget.trace_hidden, seed=ctx.seed)
    short_len = max(2, budget.trace_len // 10)
    rows = {}
    for seq_len in (short_len, budget.trace_len):
        x = noise(budget.trace_batch, seq_len, seed=ctx.seed)
        rows[str(seq_len)] = {
            **_total_norms(model, x),
            "flow": budget_flow({}, ctx, seq_len=seq_len),
        }
    short, long = rows[str(short_len)], rows[str(budget.trace_len)]
    overstates = long["sum_of_tensor_norms"] / long["global_l2_norm"]
    ratio = long["global_l2_norm"] / short["global_l2_norm"]
    reached = min(1.0, (long["flow"]["horizon"] or budget.trace_len) / budget.trace_len)
    summary = (
        f"the snippet's sum overstates the global L2 norm {num(overstates)}x; a tanh RNN's total "
        f"norm at T = {budget.trace_len} is {num(ratio)}x its norm at T = {short_len}, while "
        f"its gradient reaches only {reached:.0%} of the long sequence: small norms are not the "
        "symptom, a per-step profile is"
    )
    evidence = {
        "tanh_rnn_by_T": rows,
        "sum_over_global": overstates,
        "long_over_short_total_norm": ratio,
    }
    misleading = 0.5 <= ratio <= 2.0 and long["flow"]["verdict"] == "vanishing"
    return Finding("nuanced" if misleading else "confirmed", summary, evidence)


@claim(
    id="exploding-gradients-overflow",
    seeds=("002", "003"),
    text="Exploding gradients overflow into inf / NaN losses and make training diverge.",
    method="float32 gradient of a tanh RNN with N(0, 1) weights (exploding profile), one plain "
    "SGD step with it, and torch's norm clipping applied to it",
    theme="architectures",
)
def exploding_gradients_overflow(ctx: Any) -> Finding:
    """Non-finite float32 gradients, a NaN loss after one step, and clipping cannot repair them."""
    import math

    from torch.nn.utils import clip_grad_norm_

    budget = ctx.budget
    model = build(
        {"init": "normal"}, hidden=budget.trace_hidden, seed=ctx.seed, dtype=torch.float32
    )
    x = noise(budget.trace_batch, budget.trace_len, seed=ctx.seed, dtype=torch.float32)
    last_step_loss(model(x)).backward()
    grads = [p.grad.detach().clone() for p in model.parameters()]
    flat = torch.cat([g.reshape(-1) for g in grads])
    finite = torch.isfinite(flat)
    clip_grad_norm_(model.parameters(), 1.0)
    still_bad = sum(int((~torch.isfinite(p.grad)).sum()) for p in model.parameters())
    with torch.no_grad():
        for p, g in zip(model.parameters(), grads, strict=True):
            p -= 0.01 * g  # one plain SGD step with the unclipped gradient
        loss_after = float(last_step_loss(model(x)))
    evidence = {
        "non_finite_gradient_entries": int((~finite).sum()),
        "gradient_entries": int(flat.numel()),
        "largest_finite_gradient": float(flat[finite].abs().max()) if finite.any() else None,
        "loss_after_one_sgd_step": loss_after if math.isfinite(loss_after) else str(loss_after),
        "non_finite_entries_after_norm_clipping": still_bad,
        "setting": f"tanh RNN H={budget.trace_hidden}, N(0,1) weights, float32, "
        f"T={budget.trace_len}, SGD lr 0.01",
    }
    bad = evidence["non_finite_gradient_entries"]
    if bad:
        verdict = "confirmed" if not math.isfinite(loss_after) else "nuanced"
        return Finding(
            verdict,
            f"{bad} of {flat.numel()} float32 gradient entries overflow to inf/NaN; the loss "
            f"after one SGD step is {loss_after:g}; norm clipping leaves {still_bad} entries "
            "non-finite: clipping must come before the overflow, not after it",
            evidence,
        )
    return Finding(
        "not tested at this budget",
        f"the largest gradient entry is {num(evidence['largest_finite_gradient'])}, still "
        f"finite at T = {budget.trace_len}",
        evidence,
        needs="--budget quick (T = 200)",
    )
