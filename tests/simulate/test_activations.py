"""Activation derivatives match PyTorch's autograd; mean slopes match closed forms and sampling."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gradtrace.errors import InvalidValue
from gradtrace.simulate import ActivationReport, activation_report, expected_derivative
from gradtrace.simulate.activations import ACTIVATIONS

TORCH = {
    "sigmoid": lambda a, s: torch.sigmoid(a),
    "tanh": lambda a, s: torch.tanh(a),
    "relu": lambda a, s: torch.relu(a),
    "leaky_relu": lambda a, s: F.leaky_relu(a, negative_slope=s),
    "prelu": lambda a, s: F.prelu(a, torch.tensor([s], dtype=torch.float64)),
    "linear": lambda a, s: a,
}


def _torch_derivative(name: str, a: np.ndarray, slope: float) -> np.ndarray:
    x = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    TORCH[name](x, slope).sum().backward()
    return x.grad.numpy()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_equal_torch_autograd_including_at_zero(name):
    activation = ACTIVATIONS[name]
    slope = activation.slope_or_default(None)
    a = np.concatenate([np.linspace(-12, 12, 241), [0.0, -0.0, 1e-300, -1e-300]])
    ours = activation.derivative(a, slope)
    np.testing.assert_allclose(ours, _torch_derivative(name, a, slope), rtol=1e-12, atol=1e-15)
    assert activation.at_zero(None) == _torch_derivative(name, np.zeros(1), slope)[0]
    np.testing.assert_allclose(
        activation.phi(a, slope), TORCH[name](torch.tensor(a), slope).numpy(), rtol=1e-14
    )


def test_closed_forms_at_zero_and_the_maxima():
    assert ACTIVATIONS["sigmoid"].at_zero() == 0.25
    assert ACTIVATIONS["tanh"].at_zero() == 1.0
    assert ACTIVATIONS["relu"].at_zero() == 0.0  # PyTorch's convention at the kink
    assert ACTIVATIONS["leaky_relu"].at_zero() == 0.01
    assert ACTIVATIONS["prelu"].at_zero() == 0.25
    assert ACTIVATIONS["leaky_relu"].at_zero(0.2) == 0.2
    grid = np.linspace(-20, 20, 400_001)
    for name, activation in ACTIVATIONS.items():
        slope = activation.slope_or_default(None)
        largest = float(np.max(np.abs(activation.derivative(grid, slope))))
        assert largest == pytest.approx(activation.sup_derivative(), rel=1e-9), name
    assert ACTIVATIONS["prelu"].sup_derivative(slope=-3.0) == 3.0


def test_saturated_derivatives_stay_exact_where_one_minus_tanh_squared_rounds_to_zero():
    a = np.array([40.0, 60.0])
    assert np.all(1 - np.tanh(a) ** 2 == 0.0)
    np.testing.assert_allclose(
        ACTIVATIONS["tanh"].derivative(a, 0.0), 4 * np.exp(-2 * a), rtol=1e-12
    )
    np.testing.assert_allclose(ACTIVATIONS["sigmoid"].derivative(a, 0.0), np.exp(-a), rtol=1e-12)


@pytest.mark.parametrize("sigma", [0.1, 1.0, 7.0, 300.0])
def test_mean_slope_of_the_relu_family_has_closed_forms(sigma):
    assert expected_derivative("relu", sigma) == pytest.approx(0.5, rel=1e-13)
    assert expected_derivative("leaky_relu", sigma) == pytest.approx(0.505, rel=1e-13)
    assert expected_derivative("prelu", sigma, slope=0.3) == pytest.approx(0.65, rel=1e-13)
    assert expected_derivative("prelu", sigma, power=2) == pytest.approx(
        (1 + 0.25**2) / 2, rel=1e-13
    )
    assert expected_derivative("linear", sigma) == pytest.approx(1.0, rel=1e-13)


def _stein_side(sigma: float) -> float:
    # E[a tanh(a)] / sigma^2 integrated over a itself (not a / sigma), split at 0 and +-sigma
    from scipy import integrate

    def f(a: float) -> float:
        density = math.exp(-0.5 * (a / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        return a * math.tanh(a) * density

    parts = [(-math.inf, -sigma), (-sigma, 0.0), (0.0, sigma), (sigma, math.inf)]
    total = sum(integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-13, limit=400)[0] for lo, hi in parts)
    return total / sigma**2


@pytest.mark.parametrize("sigma", [0.05, 0.5, 1.0, 2.0, 4.0, 50.0])
def test_mean_tanh_slope_obeys_steins_identity(sigma):
    # Stein's lemma: E[tanh'(a)] = E[a tanh(a)] / sigma^2 for a ~ N(0, sigma^2)
    assert expected_derivative("tanh", sigma) == pytest.approx(_stein_side(sigma), rel=1e-10)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 5.0])
def test_mean_sigmoid_slope_is_a_quarter_of_tanh_at_half_width(sigma):
    # sigmoid'(a) = tanh'(a/2) / 4
    quarter = expected_derivative("tanh", sigma / 2) / 4
    assert expected_derivative("sigmoid", sigma) == pytest.approx(quarter, rel=1e-12)


def test_wide_pre_activations_approach_the_area_under_the_derivative():
    # E[phi'(a)] -> (phi(inf) - phi(-inf)) * density(0) as sigma grows
    density = 1 / (1000.0 * math.sqrt(2 * math.pi))
    assert expected_derivative("tanh", 1000.0) == pytest.approx(2 * density, rel=1e-5)
    assert expected_derivative("sigmoid", 1000.0) == pytest.approx(density, rel=1e-5)
    assert expected_derivative("tanh", 1e-3) == pytest.approx(1 - 1e-6, rel=1e-9)


def test_mean_slopes_agree_with_monte_carlo():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(400_000)
    for name in ("sigmoid", "tanh", "leaky_relu"):
        activation = ACTIVATIONS[name]
        for sigma in (0.5, 2.0):
            samples = activation.derivative(sigma * a, activation.slope_or_default(None))
            error = samples.std() / math.sqrt(a.size)
            assert abs(samples.mean() - expected_derivative(name, sigma)) < 5 * error + 1e-12


def test_saturation_makes_the_mean_slope_fall_with_width():
    report = activation_report(["sigmoid", "tanh", "relu"], [0.25, 0.5, 1, 2, 4])
    for name in ("sigmoid", "tanh"):
        mean = report.row(name).mean
        assert all(a > b for a, b in itertools.pairwise(mean))
    assert report.row("relu").mean == pytest.approx([0.5] * 5, rel=1e-12)


def test_report_rows_carry_slopes_and_round_trip_through_json():
    report = activation_report(["leaky_relu", "prelu", "tanh"], [1.0], slope=0.1)
    assert [row.slope for row in report.rows] == [0.1, 0.1, None]
    assert report.row("prelu").at_zero == 0.1
    assert report.row("tanh").rms[0] == pytest.approx(
        math.sqrt(expected_derivative("tanh", 1.0, power=2))
    )
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["command"] == "activations"
    assert ActivationReport.from_dict(data) == report


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["softplus"]}, "names: 'softplus' is not allowed; choose one of sigmoid, tanh"),
        ({"sigmas": [0.0]}, "sigmas: 0.0 is not allowed; must be > 0"),
        ({"sigmas": [1e4]}, "sigmas: 10000.0 is not allowed; must be <= 1000"),
        ({"slope": math.inf}, "slope: inf is not allowed; must be a finite number"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(InvalidValue) as info:
        activation_report(**kwargs)
    assert str(info.value).startswith(message)
