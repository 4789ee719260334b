"""Spectral-radius claims: the verdicts rest on Jacobian products re-derived here by autograd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gradtrace.audit import spectral
from gradtrace.audit.budget import TINY
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS


@pytest.fixture
def ctx() -> Context:
    return Context(TINY)


def autograd_product_norm(params: dict, lag: int) -> float:
    """||dh_T / dh_(T-lag)||_2 of simulate's recurrence, by torch autograd (brute force)."""
    from gradtrace.simulate.recurrence import make_recurrence

    full = {"slope": None, "input_size": 1, "input_scale": 1.0, "bias": 0.0, **params}
    rec = make_recurrence(**full)
    w = torch.tensor(rec.weight)
    drive = torch.tensor(rec.inputs @ rec.input_weight.T + rec.bias[None, :])  # (T, H)
    phi = torch.tanh if rec.activation == "tanh" else (lambda a: a)
    steps = drive.shape[0]
    h = torch.zeros(w.shape[0], dtype=torch.float64)
    for t in range(steps - lag):
        h = phi(w @ h + drive[t])

    def run(start: torch.Tensor) -> torch.Tensor:
        state = start
        for t in range(steps - lag, steps):
            state = phi(w @ state + drive[t])
        return state

    jacobian = torch.autograd.functional.jacobian(run, h)
    return float(torch.linalg.matrix_norm(jacobian, ord=2))


def test_saturated_counterexample_matches_autograd(ctx):
    case = spectral.saturated_counterexample(ctx)
    for lag in (1, 2, 5):
        brute = autograd_product_norm(case["params"], lag)
        assert math.log10(brute) == pytest.approx(case["log10_norms_sampled"][lag], abs=1e-8)


def test_quiz_six_is_refuted_by_a_radius_above_one_that_never_grows(ctx):
    finding = CLAIMS["spectral-radius-necessary-condition"].check(ctx)
    counter = finding.evidence["counterexample"]
    assert finding.verdict == "refuted"
    assert counter["spectral_radius"] == pytest.approx(2.0, rel=1e-9)
    assert counter["max_norm"] < 1.0  # the product norm never exceeds 1 at any lag ...
    assert counter["log10_norm_at_T"] < -3  # ... and has vanished by T
    sufficient = finding.evidence["sufficient_for_normal_W"]
    assert sufficient["spectral_radius"] < 1 and sufficient["log10_excess_over_rho_k"] <= 1e-9


def test_a_nilpotent_matrix_can_still_grow_the_jacobian_product():
    case = spectral.non_normal_growth(steps=40)
    assert case["spectral_radius"] < 1e-6 and case["sigma_max"] == pytest.approx(3.0)
    # the Jacobian is diag(1, 0) W at every step: its product grows like 1.5^k
    assert case["norm_at_lag"][40] == pytest.approx(1.5**39 * 1.5 * math.sqrt(2), rel=1e-6)
    weight = 1.5 * np.array([[1.0, 1.0], [-1.0, -1.0]])
    step = np.diag([1.0, 0.0]) @ weight
    assert np.linalg.norm(np.linalg.matrix_power(step, 10), 2) == pytest.approx(
        case["norm_at_lag"][10], rel=1e-9
    )


def test_spectral_radius_rule_is_nuanced_with_linear_cases_following_it(ctx):
    finding = CLAIMS["spectral-radius-rule"].check(ctx)
    shrink, grow, saturated, non_normal = finding.evidence["cases"]
    assert finding.verdict == "nuanced"
    assert shrink["gamma_hat"] == pytest.approx(0.9, rel=1e-9)  # normal W: exactly rho per step
    assert grow["gamma_hat"] == pytest.approx(1.1, rel=1e-9)
    assert saturated["spectral_radius"] > 1 and saturated["gamma_hat"] < 1
    assert non_normal["spectral_radius"] < 1 < non_normal["max_norm"]
    lag = 2
    brute = autograd_product_norm(non_normal["params"], lag)
    assert math.log10(brute) == pytest.approx(non_normal["log10_norms_sampled"][lag], abs=1e-8)


def test_orthogonal_products_keep_norm_one_exactly(ctx):
    finding = CLAIMS["orthogonal-preserves-norms"].check(ctx)
    assert finding.verdict == "confirmed"
    assert finding.evidence["max_abs_log10_drift"] < 1e-12
    assert finding.evidence["gaussian"]["max_norm"] > 1.2
