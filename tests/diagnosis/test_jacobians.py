"""Replayed trajectories and closed-form Jacobians against torch itself and autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis.jacobians import factors, jacobians
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay
from gradtrace.models.cells import make_cell

F64 = torch.float64
FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
TORCH_CELLS = {"rnn": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}


def _run_cell(cell: nn.Module, x: torch.Tensor) -> None:
    state = None
    for t in range(x.shape[1]):
        state = cell(x[:, t], state)


def _cell_map(cell: nn.Module, kind: str, x_t: torch.Tensor, hidden: int):
    """s_{t-1} -> s_t for one example (s = h, or (h, c) concatenated)."""
    if kind == "lstm":
        return lambda s: torch.cat(cell(x_t[None], (s[None, :hidden], s[None, hidden:])), -1)[0]
    return lambda s: cell(x_t[None], s[None])[0]


def _state(run, example: int, t: int) -> torch.Tensor:
    h = run.h_prev[example, t]
    return h if run.c_prev is None else torch.cat([h, run.c_prev[example, t]])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_replay_of_a_fused_bidirectional_stack_reproduces_torch_outputs(kind):
    model = FUSED[kind](3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    x = torch.randn(4, 9, 3, dtype=F64)
    with record(model) as recording:
        out, _ = model(x)
    runs = replay(model, recording)
    assert [r.name for r in runs] == [
        f"{kind}.l0",
        f"{kind}.l0.reverse",
        f"{kind}.l1",
        f"{kind}.l1.reverse",
    ]
    forward, reverse = runs[2], runs[3]
    # the state entering step t + 1 is the output of step t; the reverse runs back in time
    assert torch.allclose(forward.h_prev[:, 1:], out[:, :-1, :5], atol=1e-12)
    assert torch.allclose(reverse.h_prev[:, 1:].flip(1), out[:, 1:, 5:], atol=1e-12)


def test_replay_honours_time_major_input_and_a_given_initial_state():
    model = nn.LSTM(2, 4).double()  # (T, B, I)
    x = torch.randn(6, 3, 2, dtype=F64)
    h0, c0 = torch.randn(1, 3, 4, dtype=F64), torch.randn(1, 3, 4, dtype=F64)
    with record(model) as recording:
        out, _ = model(x, (h0, c0))
    (run,) = replay(model, recording)
    assert torch.allclose(run.h_prev[:, 0], h0[0]) and torch.allclose(run.c_prev[:, 0], c0[0])
    assert torch.allclose(run.h_prev[:, 1:], out[:-1].transpose(0, 1), atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_fused_layer_jacobians_match_autograd_through_a_torch_cell(kind):
    model = FUSED[kind](3, 5, num_layers=2, batch_first=True).double()
    x = torch.randn(2, 7, 3, dtype=F64)
    with record(model) as recording:
        model(x)
    run = replay(model, recording)[1]  # layer 1: its inputs are layer 0's outputs
    cell = TORCH_CELLS[kind](5, 5).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(model, name + "_l1"))
    layer_input = replay(model, recording)[0].h_prev[:, 1:]  # outputs of layer 0, steps 0..T-2
    jac = jacobians(run, example=1)
    for t in (0, 3, 5):
        fn = _cell_map(cell, kind, layer_input[1, t], 5)
        expected = torch.autograd.functional.jacobian(fn, _state(run, 1, t))
        assert torch.allclose(jac[t], expected, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_gradtrace_cell_jacobians_match_autograd(kind, layer_norm):
    cell = make_cell(kind, 2, 6, layer_norm=layer_norm).double()
    x = torch.randn(3, 8, 2, dtype=F64)
    with record(cell) as recording:
        _run_cell(cell, x)
    (run,) = replay(cell, recording)
    assert run.exact is not layer_norm  # layer norm is differentiated by torch.func instead
    jac = jacobians(run, example=2)
    for t in (0, 3, 7):
        expected = torch.autograd.functional.jacobian(
            _cell_map(cell, kind, x[2, t], 6), _state(run, 2, t)
        )
        assert torch.allclose(jac[t], expected, atol=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "leaky_relu", "prelu"])
def test_rnn_cell_jacobians_follow_the_activation(activation):
    cell = make_cell("rnn", 2, 5, activation=activation).double()
    x = torch.randn(2, 6, 2, dtype=F64)
    with record(cell) as recording:
        _run_cell(cell, x)
    (run,) = replay(cell, recording)
    assert run.exact
    expected = torch.autograd.functional.jacobian(
        _cell_map(cell, "rnn", x[0, 4], 5), _state(run, 0, 4)
    )
    assert torch.allclose(jacobians(run)[4], expected, atol=1e-12)


def test_lstm_with_projection_jacobians_match_autograd_of_the_fused_module():
    model = nn.LSTM(2, 6, proj_size=3, batch_first=True).double()
    x = torch.randn(1, 5, 2, dtype=F64)
    with record(model) as recording:
        model(x)
    (run,) = replay(model, recording)
    t = 3

    def one_step(s: torch.Tensor) -> torch.Tensor:
        h, c = s[:3].reshape(1, 1, 3), s[3:].reshape(1, 1, 6)
        _, (h_t, c_t) = model(x[:, t : t + 1], (h, c))
        return torch.cat([h_t.flatten(), c_t.flatten()])

    expected = torch.autograd.functional.jacobian(one_step, _state(run, 0, t))
    assert run.state_size == 9
    assert torch.allclose(jacobians(run)[t], expected, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_jacobian_products_match_autograd_across_many_steps(kind):
    cell = TORCH_CELLS[kind](2, 4).double()
    x = torch.randn(1, 9, 2, dtype=F64)
    with record(cell) as recording:
        _run_cell(cell, x)
    (run,) = replay(cell, recording)
    jac = jacobians(run)
    start, lag = 3, 5  # d s_{start+lag-1 output} / d s_{start input}

    def unroll(s: torch.Tensor) -> torch.Tensor:
        for t in range(start, start + lag):
            s = _cell_map(cell, kind, x[0, t], 4)(s)
        return s

    expected = torch.autograd.functional.jacobian(unroll, _state(run, 0, start))
    product = torch.eye(run.state_size, dtype=F64)
    for t in range(start + lag - 1, start - 1, -1):
        product = product @ jac[t]
    assert torch.allclose(product, expected, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "lstm_proj"])
def test_matrix_free_row_product_equals_the_dense_one(kind):
    proj = kind == "lstm_proj"
    options = {"proj_size": 4} if proj else {}
    model = FUSED["lstm" if proj else kind](2, 7, batch_first=True, **options).double()
    with record(model) as recording:
        model(torch.randn(1, 5, 2, dtype=F64))
    (run,) = replay(model, recording)
    fac = factors(run)
    dense = fac.dense()
    rows = torch.randn(3, run.state_size, dtype=F64)
    for t in range(5):
        assert torch.allclose(fac.rows_times(t, rows), rows @ dense[t], atol=1e-12)
        out = torch.empty_like(rows)
        assert fac.rows_times(t, rows, out=out) is out
        assert torch.allclose(out, rows @ dense[t], atol=1e-12)


def test_a_cell_whose_equations_differ_is_not_treated_as_exact():
    @gradtrace.recurrent_cell(kind="rnn")
    class Doubling(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden_size = 3
            self.weight_ih = nn.Parameter(torch.randn(3, 2))
            self.weight_hh = nn.Parameter(torch.randn(3, 3) / 3)
            self.bias_ih = self.bias_hh = None
            self.activation = "tanh"

        def forward(self, x_t, state=None):
            h = x_t.new_zeros(x_t.shape[0], 3) if state is None else state
            return 2.0 * torch.tanh(x_t @ self.weight_ih.T + h @ self.weight_hh.T)

    cell = Doubling().double()
    x = torch.randn(2, 4, 2, dtype=F64)
    with record(cell) as recording:
        _run_cell(cell, x)
    (run,) = replay(cell, recording)
    assert not run.exact
    expected = torch.autograd.functional.jacobian(
        lambda s: cell(x[0, 2][None], s[None])[0], run.h_prev[0, 2]
    )
    assert torch.allclose(jacobians(run)[2], expected, atol=1e-12)


def test_a_packed_batch_is_replayed_on_its_full_length_examples():
    from torch.nn.utils.rnn import pack_padded_sequence

    model = nn.GRU(2, 3, batch_first=True).double()
    x = torch.randn(4, 6, 2, dtype=F64)
    packed = pack_padded_sequence(
        x, torch.tensor([3, 6, 2, 6]), batch_first=True, enforce_sorted=False
    )
    with record(model) as recording:
        model(packed)
    (run,) = replay(model, recording)
    full, _ = model(x[[1, 3]])
    assert run.h_prev.shape == (2, 6, 3)
    assert torch.allclose(run.h_prev[:, 1:], full[:, :-1], atol=1e-12)
