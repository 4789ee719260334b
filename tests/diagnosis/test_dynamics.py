"""Lyapunov exponents against a closed form (a linear recurrence) and product norms against SVD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis.dynamics import LayerDynamics, lag_grid, layer_dynamics
from gradtrace.diagnosis.jacobians import jacobians
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay
from gradtrace.models.cells import make_cell

F64 = torch.float64


@gradtrace.recurrent_cell(kind="rnn")
class LinearCell(nn.Module):
    """h_t = W_ih x_t + W_hh h_{t-1}: an RNN cell with the identity activation."""

    activation = "identity"

    def __init__(self, weight_hh: torch.Tensor, input_size: int = 1) -> None:
        super().__init__()
        self.hidden_size = weight_hh.shape[0]
        self.weight_hh = nn.Parameter(weight_hh.clone())
        self.weight_ih = nn.Parameter(torch.randn(self.hidden_size, input_size, dtype=F64))
        self.bias_ih = self.bias_hh = None

    def nonlinearity_fn(self, a: torch.Tensor) -> torch.Tensor:
        return a

    def forward(self, x_t, state=None):
        h = x_t.new_zeros(x_t.shape[0], self.hidden_size) if state is None else state
        return self.nonlinearity_fn(x_t @ self.weight_ih.T + h @ self.weight_hh.T)


def _replayed(cell: nn.Module, steps: int, batch: int = 1, input_size: int = 1):
    x = torch.randn(batch, steps, input_size, dtype=F64)
    with record(cell) as recording:
        state = None
        for t in range(steps):
            state = cell(x[:, t], state)
    (run,) = replay(cell, recording)
    return run


def test_lag_grid_is_one_two_five_per_decade_and_ends_at_the_last_lag():
    assert lag_grid(100) == [1, 2, 5, 10, 20, 50, 99]
    assert lag_grid(200) == [1, 2, 5, 10, 20, 50, 100, 199]
    assert lag_grid(11) == [1, 2, 5, 10]
    assert lag_grid(2) == [1]


def test_lyapunov_exponents_of_a_linear_recurrence_are_log_abs_eigenvalues():
    generator = torch.Generator().manual_seed(3)
    moduli = torch.tensor([1.15, 0.9, 0.75, 0.6, 0.45, 0.3], dtype=F64)
    basis = torch.randn(6, 6, generator=generator, dtype=F64)
    weight = basis @ torch.diag(moduli) @ torch.linalg.inv(basis)  # non-normal, real spectrum
    run = _replayed(LinearCell(weight), steps=400)
    assert run.exact
    found = layer_dynamics(run, k=4)
    expected = np.sort(np.log(np.abs(np.linalg.eigvals(weight.numpy()))))[::-1][:4]
    assert np.allclose(found.exponents, expected, atol=0.02)
    assert found.top_exponent > 0 > found.exponents[1]  # one expanding, the rest contracting


def test_lyapunov_exponents_of_a_rotation_pair_share_their_modulus():
    angle, modulus = 0.7, 0.8
    rotation = modulus * torch.tensor(
        [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=F64
    )
    weight = torch.block_diag(rotation, torch.tensor([[0.5]], dtype=F64))
    found = layer_dynamics(_replayed(LinearCell(weight), steps=300), k=3)
    assert np.allclose(found.exponents, [np.log(0.8), np.log(0.8), np.log(0.5)], atol=0.01)
    # with k = n the exponents sum to log |det W| per step at every T, transients and all
    assert sum(found.exponents) == pytest.approx(np.log(0.8 * 0.8 * 0.5), abs=1e-9)


def test_product_norms_of_a_linear_recurrence_are_norms_of_matrix_powers():
    weight = torch.randn(5, 5, dtype=F64) / 3
    found = layer_dynamics(_replayed(LinearCell(weight), steps=60))
    assert found.lags == lag_grid(60)
    for lag, norm in zip(found.lags, found.product_norms, strict=True):
        power = np.linalg.matrix_power(weight.numpy(), lag)
        assert norm == pytest.approx(np.linalg.norm(power, 2), rel=1e-9)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_product_norms_are_spectral_norms_of_the_jacobian_products(kind):
    cell = make_cell(kind, 2, 5).double()
    run = _replayed(cell, steps=30, input_size=2)
    found = layer_dynamics(run)
    jac = jacobians(run)
    product = torch.eye(run.state_size, dtype=F64)
    expected = {}
    for lag in range(1, 30):
        product = product @ jac[30 - lag]
        expected[lag] = float(torch.linalg.matrix_norm(product, ord=2))
    for lag, norm in zip(found.lags, found.product_norms, strict=True):
        assert norm == pytest.approx(expected[lag], rel=1e-9)


def test_default_k_is_min_of_hidden_size_and_eight():
    cell = make_cell("lstm", 1, 12).double()
    run = _replayed(cell, steps=10)
    assert len(layer_dynamics(run).exponents) == 8
    small = _replayed(make_cell("rnn", 1, 3).double(), steps=10)
    assert len(layer_dynamics(small).exponents) == 3


def test_exponents_are_sorted_and_averaged_over_examples():
    cell = make_cell("gru", 1, 6).double()
    run = _replayed(cell, steps=40, batch=3)
    one = layer_dynamics(run, examples=1)
    three = layer_dynamics(run, examples=3)
    assert three.examples == 3 and one.examples == 1
    assert list(three.exponents) == sorted(three.exponents, reverse=True)
    assert three.exponents != one.exponents


def test_a_layer_norm_cell_uses_autograd_jacobians_with_the_same_exponents_as_dense_qr():
    cell = make_cell("lstm", 1, 4, layer_norm=True).double()
    run = _replayed(cell, steps=25)
    found = layer_dynamics(run, k=3)
    assert found.method == "autograd"
    jac = jacobians(run)
    q = torch.linalg.qr(torch.randn(8, 3, generator=torch.Generator().manual_seed(0), dtype=F64))[0]
    growth = torch.zeros(3, dtype=F64)
    for t in reversed(range(25)):
        q, r = torch.linalg.qr(jac[t].T @ q)
        growth += torch.log(r.diagonal().abs())
    assert np.allclose(found.exponents, np.sort(growth.numpy() / 25)[::-1], atol=1e-12)


def test_products_can_be_switched_off_and_dynamics_round_trip_through_a_dict():
    run = _replayed(make_cell("rnn", 1, 4).double(), steps=12)
    found = layer_dynamics(run, products=False)
    assert found.product_norms is None and found.lags == []
    assert LayerDynamics.from_dict(found.to_dict()) == found


def test_spectral_norms_equal_the_svd_also_for_tiny_and_huge_products():
    from gradtrace.diagnosis.dynamics import spectral_norms

    generator = torch.Generator().manual_seed(0)
    mats = torch.randn(4, 6, 6, generator=generator, dtype=torch.float64)
    mats = mats * torch.tensor([1.0, 1e-200, 1e200, 0.0], dtype=torch.float64).view(4, 1, 1)
    expected = torch.linalg.matrix_norm(mats, ord=2)
    torch.testing.assert_close(spectral_norms(mats), expected, rtol=1e-13, atol=0)
