"""recurrent_modules and recurrent_matrices find every recurrent layer of any model."""

from __future__ import annotations

import torch
from torch import nn

from gradtrace.models import ModelSpec, build_model
from gradtrace.models.cells import GRUCell, LSTMCell, RNNCell
from gradtrace.models.introspect import recurrent_matrices, recurrent_modules


class _Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
        self.decoder = nn.GRUCell(3, 4)
        self.head = nn.Linear(4, 1)
        self.relu_rnn = nn.RNN(2, 3, nonlinearity="relu", bias=False)


def test_a_bidirectional_two_layer_lstm_with_projection_yields_four_named_matrices():
    model = _Mixed()
    matrices = recurrent_matrices(model)
    names = [m.name for m in matrices]
    assert names[:4] == ["encoder.l0", "encoder.l0.reverse", "encoder.l1", "encoder.l1.reverse"]
    for matrix in matrices[:4]:
        assert matrix.kind == "lstm" and matrix.activation is None
        assert matrix.weight_hh.shape == (20, 2)  # 4 gates * H=5 rows, proj_size=2 columns
        assert matrix.weight_hr.shape == (2, 5)
    assert matrices[3].layer == 1 and matrices[3].direction == "reverse"
    assert matrices[2].weight_ih.shape == (20, 4)  # layer 1 reads both directions of proj 2
    assert matrices[3].weight_hh is model.encoder.weight_hh_l1_reverse


def test_matrices_are_the_live_parameters_not_copies():
    model = _Mixed()
    matrix = recurrent_matrices(model)[1]
    assert matrix.weight_hh is model.encoder.weight_hh_l0_reverse
    assert matrix.bias_ih is model.encoder.bias_ih_l0_reverse


def test_effective_bias_is_the_sum_of_both_biases_and_none_without_biases():
    model = _Mixed()
    by_name = {m.name: m for m in recurrent_matrices(model)}
    expected = model.encoder.bias_ih_l1 + model.encoder.bias_hh_l1
    assert torch.equal(by_name["encoder.l1"].bias, expected.detach())
    assert by_name["relu_rnn.l0"].bias is None


def test_modules_report_kind_cell_flag_sizes_and_activation():
    found = {m.path: m for m in recurrent_modules(_Mixed())}
    assert set(found) == {"encoder", "decoder", "relu_rnn"}
    encoder, decoder, relu = found["encoder"], found["decoder"], found["relu_rnn"]
    assert (encoder.num_layers, encoder.bidirectional, encoder.proj_size) == (2, True, 2)
    assert (decoder.kind, decoder.is_cell, decoder.hidden_size) == ("gru", True, 4)
    assert (relu.kind, relu.activation, relu.is_cell) == ("rnn", "relu", False)


def test_torch_cells_and_gradtrace_cells_are_found_with_their_activation():
    model = nn.ModuleDict(
        {
            "a": nn.RNNCell(2, 3, nonlinearity="relu"),
            "b": nn.LSTMCell(2, 3),
            "c": RNNCell(2, 3, activation="prelu"),
            "d": LSTMCell(2, 3),
            "e": GRUCell(2, 3),
        }
    )
    found = [(m.path, m.kind, m.is_cell, m.activation) for m in recurrent_modules(model)]
    assert found == [
        ("a", "rnn", True, "relu"),
        ("b", "lstm", True, None),
        ("c", "rnn", True, "prelu"),
        ("d", "lstm", True, None),
        ("e", "gru", True, None),
    ]
    assert [m.name for m in recurrent_matrices(model)] == ["a", "b", "c", "d", "e"]


def test_a_bare_module_is_named_after_its_kind_or_cell():
    assert [m.name for m in recurrent_matrices(nn.GRU(2, 3, num_layers=2))] == ["gru.l0", "gru.l1"]
    assert [m.name for m in recurrent_matrices(nn.LSTMCell(2, 3))] == ["cell"]


def test_a_shared_module_is_listed_once():
    shared = nn.LSTM(2, 3)
    model = nn.ModuleDict({"first": shared, "second": shared})
    assert [m.name for m in recurrent_matrices(model)] == ["first.l0"]


def test_a_model_without_recurrence_has_no_matrices():
    assert recurrent_matrices(nn.Sequential(nn.Linear(2, 3), nn.Tanh())) == []


def test_gate_blocks_slice_rows_in_torch_gate_order():
    matrix = recurrent_matrices(nn.LSTM(2, 3))[0]
    assert matrix.gates == ("i", "f", "g", "o")
    assert torch.equal(matrix.block(matrix.weight_hh, "f"), matrix.weight_hh[3:6])


def test_models_of_both_backends_expose_one_matrix_per_layer():
    expected = {"fused": ["layers.0.l0", "layers.1.l0"], "loop": ["layers.0", "layers.1"]}
    for backend, names in expected.items():
        model = build_model(ModelSpec(cell="gru", num_layers=2, hidden_size=8, backend=backend))
        matrices = recurrent_matrices(model)
        assert [m.name for m in matrices] == names
        assert all(m.kind == "gru" and m.weight_hh.shape == (24, 8) for m in matrices)
    model = build_model(ModelSpec(activation="leaky_relu", hidden_size=4))
    (entry,) = recurrent_modules(model)
    assert (entry.kind, entry.activation, entry.is_cell) == ("rnn", "leaky_relu", True)
