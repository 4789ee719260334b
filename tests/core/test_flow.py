"""The shared gradient-flow vocabulary against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradtrace import flow


def geometric_steps(gamma: float, length: int) -> np.ndarray:
    """g_t for t = 1..T when each step back multiplies the gradient by gamma."""
    lags = np.arange(length)
    return (gamma**lags)[::-1]


def test_relative_profile_is_one_at_lag_zero_and_geometric_after():
    r = flow.relative_profile(geometric_steps(0.5, 6))
    np.testing.assert_allclose(r, 0.5 ** np.arange(6))


def test_decay_factor_recovers_the_geometric_ratio():
    assert flow.decay_factor(0.93 ** np.arange(50)) == pytest.approx(0.93, rel=1e-12)


def test_decay_factor_ignores_zeros_and_needs_two_points():
    assert flow.decay_factor(np.array([1.0, 0.0, 0.25])) == pytest.approx(0.5)
    assert math.isnan(flow.decay_factor(np.array([1.0])))


def test_horizon_is_the_first_lag_below_eps():
    r = 0.5 ** np.arange(20)
    assert flow.horizon(r, eps=1e-3) == 10  # 0.5**10 = 9.8e-4 < 1e-3 <= 0.5**9
    assert flow.horizon(np.ones(5)) is None


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (np.ones(10), "healthy"),
        (0.1 ** np.arange(10), "vanishing"),
        (10.0 ** np.arange(10), "exploding"),
        (np.array([1.0, math.nan]), "non-finite"),
        (np.array([1.0, math.inf]), "non-finite"),
    ],
)
def test_verdict_follows_the_documented_order(relative, expected):
    assert flow.verdict(relative) == expected


def test_zero_final_gradient_gives_a_non_finite_profile():
    assert flow.verdict(flow.relative_profile(np.array([1.0, 0.0]))) == "non-finite"
