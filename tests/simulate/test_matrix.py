"""Jacobian-product norms equal torch.autograd's, obey the bound, and never under/overflow."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrace.errors import InvalidValue
from gradtrace.simulate import MatrixResult, matrix_recurrence
from gradtrace.simulate.jacobians import jacobian_log10_norms
from gradtrace.simulate.matrix import MatrixParams, check_params, decay_factor_log10
from gradtrace.simulate.recurrence import forward_derivatives, make_recurrence
from gradtrace.simulate.weights import recurrent_weight, spectral_radius

PHI = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "leaky_relu": lambda a: F.leaky_relu(a, 0.01),
    "prelu": lambda a: F.prelu(a, torch.tensor([0.25], dtype=torch.float64)),
    "linear": lambda a: a,
}


def _brute_force_norms(params: MatrixParams) -> np.ndarray:
    """||dh_T/dh_(T-k)||_2 for every k from torch.autograd.functional.jacobian (float64)."""
    rec = make_recurrence(**params.__dict__)
    w, u, x, b = (torch.from_numpy(a) for a in (rec.weight, rec.input_weight, rec.inputs, rec.bias))
    phi = PHI[params.activation]
    steps = params.steps
    states = [torch.zeros(params.hidden_size, dtype=torch.float64)]  # h_0 .. h_T
    for t in range(steps):
        states.append(phi(w @ states[-1] + u @ x[t] + b))

    def run_from(start: int):
        def f(h):
            for t in range(start, steps):
                h = phi(w @ h + u @ x[t] + b)
            return h

        return f

    norms = []
    for k in range(1, steps + 1):
        jac = torch.autograd.functional.jacobian(run_from(steps - k), states[steps - k])
        norms.append(float(torch.linalg.matrix_norm(jac, ord=2)))
    return np.array(norms)


@pytest.mark.parametrize(
    ("activation", "weights", "rho"),
    [
        ("tanh", "gaussian", 1.2),
        ("sigmoid", "orthogonal", 3.0),
        ("relu", "gaussian", 1.0),
        ("leaky_relu", "orthogonal", 1.1),
        ("prelu", "gaussian", 0.8),
        ("linear", "gaussian", 0.9),
    ],
)
def test_norms_equal_torch_autograd_jacobians(activation, weights, rho):
    params = MatrixParams(
        hidden_size=6,
        rho=rho,
        weights=weights,
        activation=activation,
        steps=12,
        input_size=2,
        input_scale=0.7,
        bias=0.1,
        seed=3,
    )
    result = matrix_recurrence(**params.__dict__)
    np.testing.assert_allclose(result.norms, _brute_force_norms(params), rtol=1e-11, atol=0)


def test_gram_norms_equal_full_svd_norms():
    rec = make_recurrence(
        hidden_size=40,
        rho=1.3,
        weights="gaussian",
        activation="tanh",
        slope=None,
        steps=60,
        input_size=1,
        input_scale=1.0,
        bias=0.0,
        seed=1,
    )
    derivatives = forward_derivatives(rec)
    gram = jacobian_log10_norms(derivatives, rec.weight, method="gram")
    svd = jacobian_log10_norms(derivatives, rec.weight, method="svd")
    np.testing.assert_allclose(gram, svd, rtol=0, atol=1e-13)


@pytest.mark.parametrize("kind", ["gaussian", "orthogonal"])
def test_weights_have_exactly_the_requested_spectral_radius(kind):
    weight = recurrent_weight(50, 0.7, kind, np.random.default_rng(0))
    assert spectral_radius(weight) == pytest.approx(0.7, rel=1e-12)
    if kind == "orthogonal":
        np.testing.assert_allclose(np.linalg.svd(weight, compute_uv=False), 0.7, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.integers(1, 8),
    steps=st.integers(1, 40),
    rho=st.floats(0.05, 4.0),
    weights=st.sampled_from(["gaussian", "orthogonal"]),
    activation=st.sampled_from(["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "linear"]),
    input_scale=st.floats(0.0, 3.0),
    seed=st.integers(0, 1000),
)
def test_norms_never_exceed_the_bound(hidden, steps, rho, weights, activation, input_scale, seed):
    result = matrix_recurrence(
        hidden_size=hidden,
        rho=rho,
        weights=weights,
        activation=activation,
        steps=steps,
        input_scale=input_scale,
        seed=seed,
    )
    measured = np.asarray(result.log10_norms)
    finite = np.isfinite(measured)
    slack = 1e-12 * np.arange(1, steps + 1)  # rounding grows with the number of products
    assert np.all(measured[finite] <= (result.bound_log10 + slack)[finite])
    assert np.all(measured[~finite] == -math.inf)  # only exact zeros (dead relu units)


@settings(max_examples=20, deadline=None)
@given(
    hidden=st.integers(1, 16),
    steps=st.integers(1, 200),
    seed=st.integers(0, 10_000),
    input_scale=st.floats(0.0, 5.0),
)
def test_orthogonal_linear_recurrence_preserves_norms_exactly(hidden, steps, seed, input_scale):
    result = matrix_recurrence(
        hidden_size=hidden,
        rho=1.0,
        weights="orthogonal",
        activation="linear",
        steps=steps,
        input_scale=input_scale,
        seed=seed,
    )
    np.testing.assert_allclose(result.norms, 1.0, rtol=1e-12)
    assert result.verdict == "healthy" and result.horizon is None
    assert not result.sufficient_vanishing and not result.necessary_exploding


@pytest.mark.parametrize(("rho", "verdict"), [(0.5, "vanishing"), (2.0, "exploding")])
def test_a_thousand_steps_neither_underflow_nor_overflow(rho, verdict):
    result = matrix_recurrence(
        hidden_size=8, rho=rho, weights="orthogonal", activation="linear", steps=1000, seed=0
    )
    expected = np.arange(1, 1001) * math.log10(rho)
    np.testing.assert_allclose(result.log10_norms, expected, rtol=1e-12)
    assert result.gamma_hat == pytest.approx(rho, rel=1e-12)
    assert result.verdict == verdict


def test_norms_far_beyond_the_double_range_stay_finite_in_log10():
    result = matrix_recurrence(
        hidden_size=8, rho=0.2, weights="orthogonal", activation="tanh", steps=2000, seed=0
    )
    assert np.all(np.isfinite(result.log10_norms))
    assert result.log10_norms[-1] < -1400  # 10**-1400: no double holds it
    assert result.gamma_hat is not None and 0 < result.gamma_hat < 0.2


def test_an_exploding_relu_state_does_not_overflow_the_forward_pass():
    result = matrix_recurrence(
        hidden_size=16, rho=3.0, weights="orthogonal", activation="relu", steps=1000, seed=0
    )
    assert np.all(np.isfinite(result.log10_norms))
    assert result.verdict == "exploding"


def test_decay_factor_in_log10_equals_flow_decay_factor_in_range():
    from gradtrace.flow import decay_factor

    norms = 0.8 ** np.arange(1, 50) * (1 + 0.1 * np.sin(np.arange(1, 50)))
    assert decay_factor_log10(np.log10(norms)) == pytest.approx(decay_factor(norms), rel=1e-12)
    assert decay_factor_log10(np.arange(1, 3001) * -1.0) == pytest.approx(0.1, rel=1e-10)


def test_conditions_name_pascanus_sufficient_and_necessary_cases():
    vanishing = matrix_recurrence(rho=0.9, weights="orthogonal", steps=50)
    assert vanishing.sufficient_vanishing
    assert "sufficient condition for vanishing holds" in vanishing.conditions[0]
    growing = matrix_recurrence(rho=1.5, weights="orthogonal", steps=50)
    assert growing.necessary_exploding
    assert "necessary condition for exploding holds" in growing.conditions[0]
    sigmoid = matrix_recurrence(rho=3.0, weights="orthogonal", activation="sigmoid", steps=50)
    assert sigmoid.gamma_phi == 0.25 and sigmoid.sufficient_vanishing  # 3 * 1/4 < 1


def test_gaussian_w_has_sigma_max_about_twice_rho():
    result = matrix_recurrence(hidden_size=200, rho=1.0, weights="gaussian", steps=1)
    assert result.spectral_radius == pytest.approx(1.0, rel=1e-10)
    assert 1.7 < result.sigma_max < 2.1  # 2 in the limit; seeds 0..7 give 1.82..2.00 at H = 200


def test_record_round_trips_through_strict_json():
    result = matrix_recurrence(hidden_size=4, activation="relu", input_scale=0.0, steps=5)
    assert result.verdict == "vanishing"  # h stays 0, relu'(0) = 0: the product is zero
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["results"]["norms"] == [0.0] * 5 and data["results"]["log10_norms"] == [None] * 5
    assert data["results"]["gamma_hat"] is None
    assert MatrixResult.from_dict(data) == result


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 0}, "hidden_size: 0 is not allowed; must be between 1 and 4096"),
        ({"hidden_size": 5000}, "hidden_size: 5000 is not allowed; must be between 1 and 4096"),
        ({"rho": -1.0}, "rho: -1.0 is not allowed; must be > 0"),
        ({"weights": "uniform"}, "weights: 'uniform' is not allowed; choose one of gaussian"),
        ({"activation": "gelu"}, "activation: 'gelu' is not allowed; choose one of sigmoid"),
        ({"steps": 0}, "steps: 0 is not allowed; must be between 1 and 100000"),
        ({"hidden_size": 2048, "steps": 1000}, "steps: 1000 is not allowed; at most 4"),
        ({"input_scale": -1.0}, "input_scale: -1.0 is not allowed; must be >= 0"),
        ({"sed": 1}, "sed: 1 is not allowed; unknown option"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, message):
    with pytest.raises(InvalidValue) as info:
        matrix_recurrence(**kwargs)
    assert str(info.value).startswith(message)


def test_validation_runs_before_any_work():
    assert check_params(MatrixParams(rho=2)).rho == 2.0
