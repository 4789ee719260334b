"""forget_bias_ and chrono_ set the effective gate biases of LSTM and GRU layers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gradtrace import init
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec, build_model
from gradtrace.models.cells import GRUCell
from gradtrace.models.introspect import recurrent_matrices

H = 50


def _effective(matrix, gate):
    return matrix.block(matrix.bias_ih, gate) + matrix.block(matrix.bias_hh, gate)


def test_forget_bias_sets_the_effective_lstm_forget_bias_and_nothing_else():
    model = nn.LSTM(3, H, num_layers=2, bidirectional=True)
    before = {m.name: m.bias.clone() for m in recurrent_matrices(model)}
    init.forget_bias_(model, 1.5)
    for matrix in recurrent_matrices(model):
        assert torch.all(matrix.block(matrix.bias_ih, "f") == 1.5)
        assert torch.all(matrix.block(matrix.bias_hh, "f") == 0.0)
        for gate in ("i", "g", "o"):
            torch.testing.assert_close(
                _effective(matrix, gate), matrix.block(before[matrix.name], gate)
            )


def test_forget_bias_on_gru_sets_the_update_gate_so_a_positive_value_keeps_the_state():
    cell = GRUCell(2, H)
    init.forget_bias_(cell, 4.0)
    (matrix,) = recurrent_matrices(cell)
    assert torch.all(_effective(matrix, "z") == 4.0)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
    h = torch.randn(3, H)
    h_next = cell(torch.randn(3, 2), h)
    # z = sigmoid(4) ~ 0.982: the new state is mostly the old one
    assert torch.corrcoef(torch.stack([h.flatten(), h_next.flatten()]))[0, 1] > 0.99


def test_forget_bias_skips_plain_rnn_layers_in_a_mixed_model():
    model = nn.ModuleList([nn.RNN(2, 4), nn.LSTM(2, 4)])
    rnn_bias = model[0].bias_ih_l0.detach().clone()
    init.forget_bias_(model, 2.0)
    assert torch.equal(model[0].bias_ih_l0, rnn_bias)
    assert torch.all(model[1].bias_ih_l0[4:8] == 2.0)


def test_gate_biases_need_a_gated_layer_with_biases():
    with pytest.raises(InvalidValue, match=r"^forget_bias: 1.0 is not allowed; needs an LSTM"):
        init.forget_bias_(nn.RNN(2, 4), 1.0)
    with pytest.raises(InvalidValue, match="has bias=False"):
        init.chrono_(nn.LSTM(2, 4, bias=False), 10)
    with pytest.raises(InvalidValue, match=r"^forget_bias: inf"):
        init.forget_bias_(nn.LSTM(2, 4), math.inf)


@pytest.mark.parametrize("t_max", [2.0, 10.0, 1000.0])
def test_chrono_lstm_forget_bias_is_log_uniform_and_input_bias_its_negative(t_max):
    model = build_model(ModelSpec(cell="lstm", hidden_size=H, num_layers=2, backend="loop"))
    before = {m.name: m.bias.clone() for m in recurrent_matrices(model)}
    init.chrono_(model, t_max)
    for matrix in recurrent_matrices(model):
        forget = _effective(matrix, "f")
        assert torch.all(forget >= 0) and torch.all(forget <= math.log(t_max - 1) + 1e-6)
        assert torch.equal(_effective(matrix, "i"), -forget)
        assert torch.all(matrix.block(matrix.bias_hh, "f") == 0)
        for gate in ("g", "o"):
            torch.testing.assert_close(
                _effective(matrix, gate), matrix.block(before[matrix.name], gate)
            )
        if t_max > 2:  # really spread over the range, one value per unit
            assert forget.max() - forget.min() > 0.5 * math.log(t_max - 1)


def test_chrono_gru_sets_only_the_update_gate_in_the_log_range():
    model = nn.GRU(2, H)
    before = recurrent_matrices(model)[0].bias.clone()
    init.chrono_(model, 100)
    (matrix,) = recurrent_matrices(model)
    z = _effective(matrix, "z")
    assert torch.all(z >= 0) and torch.all(z <= math.log(99) + 1e-6)
    torch.testing.assert_close(_effective(matrix, "r"), matrix.block(before, "r"))


def test_chrono_needs_t_max_of_at_least_two():
    with pytest.raises(InvalidValue, match=r"^t_max: None"):
        init.chrono_(nn.LSTM(2, 3))
    with pytest.raises(InvalidValue, match=r"^t_max: 1.5"):
        init.chrono_(nn.LSTM(2, 3), 1.5)
