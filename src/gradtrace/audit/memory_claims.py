"""The curse of memory against "vanishing gradients explain why RNNs fail at long range".

Zucchet & Orvieto (NeurIPS 2024, "Recurrent neural networks: vanishing and exploding gradients
are not the end of the story"): in h_t = lambda h_{t-1} + x_t the gradient through time
dh_T/dh_t = lambda^(T-t) is at most 1 for |lambda| < 1 (it vanishes for small |lambda|, never
explodes), yet the state's sensitivity to lambda itself, E[(dh_T/dlambda)^2] ->
(1 + lambda^2) / (1 - lambda^2)^3, explodes as the memory grows (|lambda| -> 1). Both are
measured here with autograd beside their closed forms (gradtrace.simulate.memory).
"""

from __future__ import annotations

from typing import Any

import torch

from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.measure import num

LAMBDAS = (0.5, 0.9, 0.99, 0.999)
STEPS = 1000  # T: long enough that 0.5^(T-1) and 0.9^(T-1) underflow any use
SAMPLES = 1000  # Monte Carlo sequences per lambda (about a second in all on one core)
VANISHED = 1e-3  # dh_T/dh_1 below this: the gradient through time has vanished
EXPLODED = 1e3  # sensitivity at the largest lambda over the smallest's: exploded


def through_time(lam: float, steps: int) -> dict[str, float]:
    """dh_T/dx_t (= dh_T/dh_t) by autograd through the scan, against lambda^(T-t), float64."""
    from gradtrace.models.frontier.scan import scan

    x = torch.zeros(1, steps, dtype=torch.float64, requires_grad=True)
    lams = torch.full((1, 1), float(lam), dtype=torch.float64)
    (grad,) = torch.autograd.grad(scan(lams, x)[0, -1], x)  # (1, T): dh_T/dx_t
    lags = torch.arange(steps - 1, -1, -1, dtype=torch.float64)
    exact = torch.tensor(float(lam), dtype=torch.float64) ** lags
    return {
        "largest": float(grad.max()),  # at t = T (lag 0): 1
        "first_step": float(grad[0, 0]),  # dh_T/dh_1 = lambda^(T-1)
        "max_abs_diff_vs_lambda_power": float((grad[0] - exact).abs().max()),
    }


@claim(
    id="vanishing-explains-long-range-failure",
    seeds=("000", "001", "002", "003"),
    text="Standard RNNs fail to learn long-range dependencies mainly because their gradients "
    "vanish (or explode) as they pass back through many time steps.",
    method="h_t = lambda h_(t-1) + x_t at T = 1000: dh_T/dh_t by autograd vs lambda^(T-t), and "
    "the state's sensitivity to lambda E[(dh_T/dlambda)^2] by autograd (gradtrace.simulate."
    "memory) vs its exact sum and closed form, as |lambda| -> 1",
    theme="theory",
)
def vanishing_explains_long_range_failure(ctx: Any) -> Finding:
    """Vanishing is one failure mode; the curse of memory is a second one at |lambda| -> 1."""
    from gradtrace.simulate.memory import memory_sensitivity

    result = memory_sensitivity(LAMBDAS, samples=SAMPLES, steps=STEPS, seed=ctx.seed)
    rows = []
    for row in result.rows:
        gradient = through_time(row.lam, STEPS)
        rows.append(
            {
                "lambda": row.lam,
                "dhT_dh1": gradient["first_step"],
                "dhT_dht_largest": gradient["largest"],
                "through_time_max_abs_diff": gradient["max_abs_diff_vs_lambda_power"],
                "state_variance_limit": row.state_variance,
                "sensitivity_exact": row.exact,
                "sensitivity_autograd": row.measured,
                "sensitivity_interval_99": [row.low, row.high],
                "exact_within_interval": row.within,
                "sensitivity_limit": row.closed_form,
                "sensitivity_over_state_variance": row.exact / row.state_variance,
            }
        )
    low, high = rows[0], rows[-1]
    growth = high["sensitivity_exact"] / low["sensitivity_exact"]
    vanishes = low["dhT_dh1"] < VANISHED
    bounded = all(r["dhT_dht_largest"] <= 1.0 + 1e-12 for r in rows)
    memory_kept = high["dhT_dh1"] >= VANISHED
    exact = all(r["through_time_max_abs_diff"] < 1e-12 for r in rows)
    measured = sum(r["exact_within_interval"] for r in rows)
    evidence = {
        "setting": "h_t = lambda h_(t-1) + x_t, h_0 = 0, x_t ~ N(0, 1), float64, "
        f"T = {STEPS}, {SAMPLES} sequences per lambda, seed {ctx.seed}",
        "rows": rows,
        "sensitivity_growth": growth,
        "through_time_never_above_1": bounded,
        "through_time_exact": exact,
        "measured_within_99_interval": f"{measured} of {len(rows)}",
        "source": "Zucchet & Orvieto (2024), Recurrent neural networks: vanishing and "
        "exploding gradients are not the end of the story",
    }
    if not (exact and bounded and vanishes):
        return Finding("refuted", "the linear recurrence does not behave as derived", evidence)
    if not (memory_kept and growth > EXPLODED):
        return Finding(
            "confirmed",
            f"vanishing is the failure here: the sensitivity to lambda grows only {num(growth)}x",
            evidence,
        )
    return Finding(
        "nuanced",
        f"vanishing is one cause (dh_T/dh_1 = {num(low['dhT_dh1'])} at lambda = "
        f"{low['lambda']:g}), not the whole story: at lambda = {high['lambda']:g} "
        f"dh_T/dh_1 = {high['dhT_dh1']:.2f} and no factor exceeds 1, yet "
        f"E[(dh_T/dlambda)^2] is {num(high['sensitivity_exact'])} "
        f"({num(growth)}x lambda = {low['lambda']:g}'s; autograd "
        f"{num(high['sensitivity_autograd'])}): the curse of memory",
        evidence,
    )
