"""Claims about the spectral radius and orthogonal matrices, checked on exact Jacobian products."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.measure import num


def _product(label: str, **options: Any) -> dict[str, Any]:
    """||dh_T/dh_(T-k)|| of one simulate.matrix_recurrence run, summarised."""
    from gradtrace.simulate import matrix_recurrence

    result = matrix_recurrence(**options)
    logs = np.asarray(result.log10_norms)
    lags = np.arange(1, logs.size + 1)
    return {
        "case": label,
        "params": {k: v for k, v in options.items()},
        "spectral_radius": result.spectral_radius,
        "sigma_max": result.sigma_max,
        "max_norm": float(10.0 ** logs.max()),
        "max_norm_at_lag": int(lags[logs.argmax()]),
        "log10_norm_at_T": float(logs[-1]),
        "gamma_hat": result.gamma_hat,
        "mean_slope": result.mean_derivative,
        "verdict": result.verdict,
        # how far the norms exceed rho^k anywhere (<= 0: the bound rho^k holds at every lag)
        "log10_excess_over_rho_k": float(np.max(logs - lags * np.log10(result.spectral_radius))),
        "log10_norms_sampled": {int(k): float(logs[k - 1]) for k in _sample_lags(logs.size)},
    }


def grows(case: dict[str, Any]) -> bool | None:
    """Whether the product norms grow with the lag (decay factor above 1); None if undefined."""
    gamma = case["gamma_hat"]
    return None if gamma is None else gamma > 1.0


def _sample_lags(steps: int) -> list[int]:
    return sorted({k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, steps) if k <= steps})


def _size(ctx: Any) -> dict[str, Any]:
    return {"hidden_size": ctx.budget.trace_hidden, "steps": ctx.budget.trace_len, "seed": ctx.seed}


def saturated_counterexample(ctx: Any) -> dict[str, Any]:
    """rho(W) = 2 with tanh units held in saturation by a constant drive: no explosion.

    With |h_j| near 1, (W h)_i has a standard deviation of about rho = 2; a drive of 8 is four of
    them, so every unit stays saturated and every Jacobian diag(phi') W is far below 1 in norm.
    """
    return _product(
        "tanh, orthogonal W, rho 2, constant drive 8 (saturated)",
        rho=2.0,
        weights="orthogonal",
        activation="tanh",
        bias=8.0,
        **_size(ctx),
    )


def non_normal_growth(*, steps: int = 40) -> dict[str, Any]:
    """A 2-unit tanh recurrence with rho(W) = 0 whose Jacobian products grow as 1.5^k.

    W = 1.5 [[1, 1], [-1, -1]] is nilpotent (both eigenvalues 0) but sigma_max(W) = 3. Unit 2 is
    held at +1 by a bias of 30 (slope 0), which keeps unit 1 at its fixed point 0 (slope 1): each
    step's Jacobian diag(1, 0) W has eigenvalue 1.5.
    """
    weight = 1.5 * np.array([[1.0, 1.0], [-1.0, -1.0]])
    bias = np.array([-1.5, 30.0])
    state = np.array([0.0, 1.0])
    product = np.eye(2)
    norms = []
    for _ in range(steps):
        pre = weight @ state + bias
        slope = 4.0 * np.exp(-2.0 * np.abs(pre)) / (1.0 + np.exp(-2.0 * np.abs(pre))) ** 2
        state = np.tanh(pre)
        product = (slope[:, None] * weight) @ product
        norms.append(float(np.linalg.norm(product, 2)))
    return {
        "case": "2 tanh units, W = 1.5 [[1, 1], [-1, -1]], bias (-1.5, 30)",
        "spectral_radius": float(np.max(np.abs(np.linalg.eigvals(weight)))),
        "sigma_max": float(np.linalg.norm(weight, 2)),
        "norm_at_lag": {k: norms[k - 1] for k in (1, 10, 20, steps)},
    }


@claim(
    id="spectral-radius-rule",
    seeds=("000", "002", "003"),
    text="Gradients vanish when the recurrent matrix's spectral radius is below 1 and explode "
    "when it is above 1 (weights too small shrink them, too large blow them up).",
    method="exact Jacobian products (simulate.matrix_recurrence) for linear and tanh "
    "recurrences, normal and non-normal W, with and without saturation",
    theme="spectral",
)
def spectral_radius_rule(ctx: Any) -> Finding:
    """True for linear recurrences with normal W; activation slopes and non-normality matter."""
    size = _size(ctx)
    cases = [
        _product(
            "linear, orthogonal W, rho 0.9",
            rho=0.9,
            weights="orthogonal",
            activation="linear",
            **size,
        ),
        _product(
            "linear, orthogonal W, rho 1.1",
            rho=1.1,
            weights="orthogonal",
            activation="linear",
            **size,
        ),
        saturated_counterexample(ctx),
        _product(
            "tanh, Gaussian (non-normal) W, rho 0.95, small inputs",
            rho=0.95,
            weights="gaussian",
            activation="tanh",
            input_scale=0.1,
            **size,
        ),
    ]
    shrink, grow, saturated, non_normal = cases
    rule_linear = grows(shrink) is False and grows(grow) is True
    exceptions = grows(saturated) is False or non_normal["max_norm"] > 1.0
    evidence = {
        "cases": cases,
        "pascanu_2013": "sigma_max(W) < 1/gamma_phi is sufficient for vanishing and "
        "sigma_max(W) > 1/gamma_phi necessary for exploding (gamma_phi = sup|phi'|: tanh 1, "
        "sigmoid 1/4); for normal W sigma_max = rho",
    }
    if not rule_linear:
        return Finding("refuted", "even a linear recurrence does not follow the rule", evidence)
    if not exceptions:
        return Finding("confirmed", "every case followed the rule", evidence)
    return Finding(
        "nuanced",
        f"holds for linear recurrences with normal W; but rho = 2 with saturated tanh units "
        f"vanishes (norm 1e{saturated['log10_norm_at_T']:.0f} at T = {size['steps']}), and a "
        f"non-normal W with rho = 0.95 first grows to {num(non_normal['max_norm'])}",
        evidence,
    )


@claim(
    id="spectral-radius-necessary-condition",
    seeds=("003",),
    text="Keeping the spectral radius of the recurrent matrix below 1 is a necessary condition "
    "for preventing exploding gradients (a quiz answer in 2.2 Vanishing & Exploding Gradients).",
    method="exact Jacobian products: a counter-example with rho > 1 that does not explode, "
    "the bound rho^k for normal W, and a non-normal W",
    theme="spectral",
)
def spectral_radius_necessary(ctx: Any) -> Finding:
    """rho < 1 is sufficient (normal W, |phi'| <= 1), not necessary: rho = 2 need not explode."""
    size = _size(ctx)
    counter = saturated_counterexample(ctx)
    driven = _product(
        "tanh, orthogonal W, rho 2, strong inputs (scale 10)",
        rho=2.0,
        weights="orthogonal",
        activation="tanh",
        input_scale=10.0,
        **size,
    )
    sufficient = _product(
        "tanh, orthogonal (normal) W, rho 0.95",
        rho=0.95,
        weights="orthogonal",
        activation="tanh",
        **size,
    )
    nilpotent = non_normal_growth()
    evidence = {
        "counterexample": counter,
        "input_driven_counterexample": driven,
        "sufficient_for_normal_W": sufficient,
        "non_normal_W": nilpotent,
        "correct_statement": "with |phi'| <= gamma_phi, sigma_max(W) < 1/gamma_phi is "
        "sufficient to rule out exploding gradients (for normal W sigma_max = rho); "
        "sigma_max(W) > 1/gamma_phi is necessary for them (Pascanu, Mikolov and Bengio 2013). "
        "A growing upper bound does not force the norm itself to grow.",
    }
    not_necessary = counter["spectral_radius"] > 1.0 and grows(counter) is False
    bound_holds = sufficient["log10_excess_over_rho_k"] <= 1e-9
    if not not_necessary:
        return Finding("confirmed", "no counter-example with rho > 1 was found", evidence)
    summary = (
        f"not necessary: rho = {counter['spectral_radius']:.3g} with saturated tanh never "
        f"exceeds {num(counter['max_norm'])} and falls to 1e{counter['log10_norm_at_T']:.0f}; "
        f"sufficient for normal W (norms <= rho^k: {'yes' if bound_holds else 'no'}); in "
        f"general sigma_max(W) < 1 is the sufficient condition"
    )
    return Finding("refuted", summary, evidence)


@claim(
    id="orthogonal-preserves-norms",
    seeds=("000", "002"),
    text="Orthogonal (unit-norm) recurrent matrices preserve the length of vectors carried "
    "through time, better than arbitrary random matrices.",
    method="exact products of a linear recurrence with orthogonal vs Gaussian W at rho = 1",
    theme="spectral",
)
def orthogonal_preserves_norms(ctx: Any) -> Finding:
    """Linear recurrence: ||Q^k|| = 1 at every lag; a Gaussian W with rho = 1 does not."""
    size = _size(ctx)
    orthogonal = _product(
        "linear, orthogonal W, rho 1", rho=1.0, weights="orthogonal", activation="linear", **size
    )
    gaussian = _product(
        "linear, Gaussian W, rho 1", rho=1.0, weights="gaussian", activation="linear", **size
    )
    logs = list(orthogonal["log10_norms_sampled"].values())
    drift = max(abs(v) for v in logs)
    exact = drift < 1e-9 and abs(orthogonal["log10_norm_at_T"]) < 1e-9
    evidence = {"orthogonal": orthogonal, "gaussian": gaussian, "max_abs_log10_drift": drift}
    summary = (
        f"orthogonal: every product has norm 1 (largest log10 drift {drift:.1g}); Gaussian with "
        f"the same rho reaches {num(gaussian['max_norm'])}; for tanh RNNs see "
        "orthogonal-identity-init-help"
    )
    return Finding("confirmed" if exact else "refuted", summary, evidence)
