"""Weight initializers reach their defining property on torch modules, cells and our models."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gradtrace import init
from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models import ModelSpec, build_model
from gradtrace.models.cells import RNNCell
from gradtrace.models.introspect import recurrent_matrices


def _blocks(matrix, tensor):
    return [matrix.block(tensor, gate) for gate in matrix.gates]


def _many_models():
    return [
        nn.LSTM(3, 8, num_layers=2, bidirectional=True),
        nn.GRU(3, 8),
        nn.RNN(3, 8, nonlinearity="relu"),
        nn.LSTMCell(3, 8),
        build_model(ModelSpec(cell="gru", hidden_size=8, num_layers=2, backend="loop")),
        build_model(ModelSpec(hidden_size=8, activation="prelu", layer_norm=True)),
    ]


@pytest.mark.parametrize("model", _many_models(), ids=lambda m: type(m).__name__)
def test_orthogonal_makes_every_recurrent_gate_block_orthogonal(model):
    weights_ih = [m.weight_ih.detach().clone() for m in recurrent_matrices(model)]
    init.orthogonal_(model)
    for matrix, weight_ih in zip(recurrent_matrices(model), weights_ih, strict=True):
        for block in _blocks(matrix, matrix.weight_hh.detach()):
            eye = torch.eye(block.shape[0])
            torch.testing.assert_close(block.T @ block, eye, atol=1e-5, rtol=0)
        assert torch.equal(matrix.weight_ih, weight_ih)  # the input weights are left alone


def test_orthogonal_gain_scales_the_blocks_and_projections_get_semi_orthogonal_blocks():
    model = nn.LSTM(2, 6, proj_size=3)
    init.orthogonal_(model, gain=2.0)
    (matrix,) = recurrent_matrices(model)
    for block in _blocks(matrix, matrix.weight_hh.detach()):  # (6, 3): orthonormal columns
        torch.testing.assert_close(block.T @ block, 4.0 * torch.eye(3), atol=1e-5, rtol=0)


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.7])
def test_spectral_scales_rnn_matrices_and_each_gate_block_to_radius_rho(rho):
    model = nn.ModuleList([nn.RNN(2, 10), nn.LSTM(2, 10, num_layers=2), nn.GRUCell(2, 10)])
    init.spectral_(model, rho)
    matrices = recurrent_matrices(model)
    assert len(matrices) == 4
    for matrix in matrices:
        for block in _blocks(matrix, matrix.weight_hh.detach()):
            radius = torch.linalg.eigvals(block.double()).abs().max().item()
            assert radius == pytest.approx(rho, rel=1e-5)


def test_spectral_with_a_projection_acts_on_the_map_from_h():
    model = nn.LSTM(2, 6, proj_size=4)
    init.spectral_(model, 0.8)
    (matrix,) = recurrent_matrices(model)
    for block in _blocks(matrix, matrix.weight_hh.detach()):
        square = (block @ matrix.weight_hr.detach()).double()  # (6, 6): h_{t-1} -> pre-activation
        assert torch.linalg.eigvals(square).abs().max().item() == pytest.approx(0.8, rel=1e-5)


def test_spectral_refuses_a_zero_matrix_with_the_layer_named():
    model = nn.RNN(2, 4)
    with torch.no_grad():
        model.weight_hh_l0.zero_()
    with pytest.raises(InvalidValue, match=r"rnn\.l0 gate h has spectral radius 0"):
        init.spectral_(model, 1.0)


def test_identity_sets_scaled_identity_and_zero_biases_for_rnn_layers():
    model = nn.ModuleList([nn.RNN(3, 5, num_layers=2), RNNCell(3, 5, activation="relu")])
    init.identity_(model, scale=0.9)
    for matrix in recurrent_matrices(model):
        assert torch.equal(matrix.weight_hh, 0.9 * torch.eye(5))
        assert torch.all(matrix.bias_ih == 0) and torch.all(matrix.bias_hh == 0)


def test_identity_refuses_gated_layers_before_changing_anything():
    model = nn.ModuleList([nn.RNN(3, 5), nn.LSTM(3, 5)])
    before = model[0].weight_hh_l0.detach().clone()
    with pytest.raises(InvalidValue, match=r"^init: 'identity' is not allowed; .*1\.l0 is lstm"):
        init.identity_(model)
    assert torch.equal(model[0].weight_hh_l0, before)


def test_normal_draws_weights_with_the_given_std():
    model = nn.RNN(256, 256)
    init.normal_(model)
    for weight in (model.weight_hh_l0, model.weight_ih_l0):
        assert weight.std().item() == pytest.approx(1.0, rel=0.02)
        assert abs(weight.mean().item()) < 0.02
    init.normal_(model, std=0.1)
    assert model.weight_hh_l0.std().item() == pytest.approx(0.1, rel=0.02)


@pytest.mark.parametrize("method", [init.xavier_uniform_, init.xavier_normal_])
def test_xavier_gives_each_gate_block_variance_two_over_fan_in_plus_fan_out(method):
    hidden, inputs = 128, 64
    model = nn.LSTM(inputs, hidden)
    method(model, gain=1.5)
    (matrix,) = recurrent_matrices(model)
    for block in _blocks(matrix, matrix.weight_hh.detach()):
        assert block.var().item() == pytest.approx(2.25 * 2 / (2 * hidden), rel=0.05)
    for block in _blocks(matrix, matrix.weight_ih.detach()):
        assert block.var().item() == pytest.approx(2.25 * 2 / (inputs + hidden), rel=0.05)


@pytest.mark.parametrize(
    ("activation", "gain"),
    [
        ("tanh", 5 / 3),
        ("relu", math.sqrt(2)),
        ("leaky_relu", math.sqrt(2 / (1 + 0.3**2))),
        ("prelu", math.sqrt(2 / (1 + 0.3**2))),
        ("sigmoid", 1.0),
    ],
)
def test_he_uses_fan_in_and_the_gain_of_the_rnn_activation(activation, gain):
    cell = RNNCell(64, 128, activation=activation, leaky_slope=0.3)
    init.he_(cell)
    assert cell.weight_hh.var().item() == pytest.approx(gain**2 / 128, rel=0.05)
    assert cell.weight_ih.var().item() == pytest.approx(gain**2 / 64, rel=0.05)


def test_he_on_gated_cells_uses_gain_one_for_gates_and_tanh_gain_for_the_candidate():
    model = nn.LSTM(64, 128)
    init.he_(model)
    (matrix,) = recurrent_matrices(model)
    expected = {"i": 1.0, "f": 1.0, "g": 25 / 9, "o": 1.0}
    for gate, gain_squared in expected.items():
        block = matrix.block(matrix.weight_hh.detach(), gate)
        assert block.var().item() == pytest.approx(gain_squared / 128, rel=0.05)


def test_default_restores_torch_initialisation_draw_for_draw():
    model = nn.GRU(3, 6, num_layers=2)
    reference = nn.GRU(3, 6, num_layers=2)
    init.normal_(model)
    torch.manual_seed(11)
    init.default_(model)
    torch.manual_seed(11)
    reference.reset_parameters()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)


def test_initializers_leave_readouts_alone_and_are_deterministic():
    model = build_model(ModelSpec(cell="lstm", hidden_size=8, readout="attention"))
    readout = model.readout.weight.detach().clone()
    torch.manual_seed(2)
    init.orthogonal_(model)
    first = model.layers[0].weight_hh_l0.detach().clone()
    torch.manual_seed(2)
    init.orthogonal_(model)
    assert torch.equal(model.layers[0].weight_hh_l0, first)
    assert torch.equal(model.readout.weight, readout)


def test_a_model_without_recurrent_layers_is_refused():
    with pytest.raises(UnsupportedModel, match="no recurrent layer"):
        init.orthogonal_(nn.Linear(3, 3))


@pytest.mark.parametrize(
    ("method", "name"),
    [
        (lambda m: init.normal_(m, std=0.0), "std"),
        (lambda m: init.spectral_(m, -1.0), "rho"),
        (lambda m: init.orthogonal_(m, gain=float("nan")), "gain"),
        (lambda m: init.identity_(m, scale="big"), "scale"),
    ],
)
def test_bad_options_raise_one_line_naming_the_option(method, name):
    with pytest.raises(InvalidValue, match=rf"^{name}: .* is not allowed"):
        method(nn.RNN(2, 3))
