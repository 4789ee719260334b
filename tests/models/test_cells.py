"""gradtrace cells compute exactly the textbook step, match torch cells and keep torch's layout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.models.cells import GRUCell, LSTMCell, RNNCell, make_cell
from gradtrace.models.net import run_cell

B, IN, H = 3, 4, 5


def _inputs():
    torch.manual_seed(1)
    x = torch.randn(B, IN, dtype=torch.float64)
    h = torch.randn(B, H, dtype=torch.float64)
    c = torch.randn(B, H, dtype=torch.float64)
    return x, h, c


def _ln(v: torch.Tensor, gain: torch.Tensor, shift: torch.Tensor | None = None, eps=1e-5):
    mean = v.mean(-1, keepdim=True)
    var = ((v - mean) ** 2).mean(-1, keepdim=True)
    out = (v - mean) / torch.sqrt(var + eps) * gain
    return out if shift is None else out + shift


REFERENCE_ACTIVATIONS = {
    "tanh": lambda z, a: (torch.exp(z) - torch.exp(-z)) / (torch.exp(z) + torch.exp(-z)),
    "sigmoid": lambda z, a: 1.0 / (1.0 + torch.exp(-z)),
    "relu": lambda z, a: torch.where(z > 0, z, torch.zeros_like(z)),
    "leaky_relu": lambda z, a: torch.where(z > 0, z, 0.2 * z),
    "prelu": lambda z, a: torch.where(z > 0, z, a * z),
}


@pytest.mark.parametrize("activation", list(REFERENCE_ACTIVATIONS))
@pytest.mark.parametrize("layer_norm", [False, True])
def test_rnn_cell_equals_a_plain_tensor_reference(activation, layer_norm):
    x, h, _ = _inputs()
    cell = RNNCell(IN, H, activation=activation, leaky_slope=0.2, layer_norm=layer_norm).double()
    with torch.no_grad():
        if activation == "prelu":
            cell.slope.copy_(torch.linspace(0.1, 0.5, H))  # one slope per unit
        if layer_norm:
            cell.ln_ih.weight.uniform_(0.5, 1.5)
            cell.ln_hh.weight.uniform_(0.5, 1.5)
    wx, wh = x @ cell.weight_ih.T, h @ cell.weight_hh.T
    if layer_norm:
        wx, wh = _ln(wx, cell.ln_ih.weight), _ln(wh, cell.ln_hh.weight)
    slope = cell.slope if activation == "prelu" else None
    expected = REFERENCE_ACTIVATIONS[activation](wx + cell.bias_ih + wh + cell.bias_hh, slope)
    torch.testing.assert_close(cell(x, h), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_lstm_cell_equals_a_plain_tensor_reference(layer_norm):
    x, h, c = _inputs()
    cell = LSTMCell(IN, H, layer_norm=layer_norm).double()
    if layer_norm:
        with torch.no_grad():
            cell.ln_c.weight.uniform_(0.5, 1.5)
            cell.ln_c.bias.uniform_(-0.5, 0.5)
    wx, wh = x @ cell.weight_ih.T, h @ cell.weight_hh.T
    if layer_norm:
        wx, wh = _ln(wx, cell.ln_ih.weight), _ln(wh, cell.ln_hh.weight)
    pre = wx + cell.bias_ih + wh + cell.bias_hh
    i, f, g, o = (pre[:, k * H : (k + 1) * H] for k in range(4))
    sig = lambda z: 1 / (1 + torch.exp(-z))  # noqa: E731
    c_new = sig(f) * c + sig(i) * torch.tanh(g)
    c_out = _ln(c_new, cell.ln_c.weight, cell.ln_c.bias) if layer_norm else c_new
    h_new = sig(o) * torch.tanh(c_out)
    got_h, got_c = cell(x, (h, c))
    torch.testing.assert_close(got_h, h_new, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_c, c_new, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_gru_cell_equals_a_plain_tensor_reference(layer_norm):
    x, h, _ = _inputs()
    cell = GRUCell(IN, H, layer_norm=layer_norm).double()
    wx, wh = x @ cell.weight_ih.T, h @ cell.weight_hh.T
    if layer_norm:
        wx, wh = _ln(wx, cell.ln_ih.weight), _ln(wh, cell.ln_hh.weight)
    gx, gh = wx + cell.bias_ih, wh + cell.bias_hh
    blocks = lambda v: [v[:, k * H : (k + 1) * H] for k in range(3)]  # noqa: E731
    (xr, xz, xn), (hr, hz, hn) = blocks(gx), blocks(gh)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    torch.testing.assert_close(cell(x, h), (1 - z) * n + z * h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: RNNCell(IN, H), lambda: nn.RNNCell(IN, H)),
        (lambda: RNNCell(IN, H, activation="relu"), lambda: nn.RNNCell(IN, H, nonlinearity="relu")),
        (lambda: LSTMCell(IN, H), lambda: nn.LSTMCell(IN, H)),
        (lambda: GRUCell(IN, H, bias=False), lambda: nn.GRUCell(IN, H, bias=False)),
    ],
)
def test_same_seed_gives_torch_cell_weights_and_outputs(ours, theirs):
    torch.manual_seed(3)
    mine = ours().double()
    torch.manual_seed(3)
    reference = theirs().double()
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in reference.named_parameters()]
    for a, b in zip(mine.parameters(), reference.parameters(), strict=True):
        assert torch.equal(a, b)
    x, h, c = _inputs()
    for state in (None, (h, c) if isinstance(mine, LSTMCell) else h):
        torch.testing.assert_close(mine(x, state), reference(x, state), rtol=1e-12, atol=1e-12)


def test_unbatched_input_gives_unbatched_state_like_torch_cells():
    cell = LSTMCell(IN, H).double()
    x, h, c = _inputs()
    h1, c1 = cell(x[0], (h[0], c[0]))
    assert h1.shape == (H,) and c1.shape == (H,)
    torch.testing.assert_close(h1, cell(x, (h, c))[0][0])


def test_a_precomputed_input_projection_gives_the_same_step():
    cell = GRUCell(IN, H, layer_norm=True).double()
    x, h, _ = _inputs()
    torch.testing.assert_close(cell(x, h, input_proj=cell.input_projection(x)), cell(x, h))


def test_prelu_slope_is_one_learned_parameter_per_unit_starting_at_leaky_slope():
    cell = RNNCell(IN, H, activation="prelu", leaky_slope=0.05)
    assert cell.slope.shape == (H,) and torch.all(cell.slope == 0.05)
    x, h, _ = _inputs()
    cell(x.float(), -10 * h.abs().float()).sum().backward()
    assert cell.slope.grad is not None and cell.slope.grad.abs().sum() > 0


def test_run_cell_calls_the_cell_once_per_step_so_hooks_see_every_step():
    cell = LSTMCell(IN, H)
    seen = []
    handle = cell.register_forward_hook(lambda module, args, out: seen.append(out[0]))
    try:
        outputs, (h_last, _) = run_cell(cell, torch.randn(B, 7, IN))
    finally:
        handle.remove()
    assert len(seen) == 7 and outputs.shape == (B, 7, H)
    assert torch.equal(torch.stack(seen, 1), outputs) and torch.equal(h_last, outputs[:, -1])


def test_cells_carry_the_protocol_attributes():
    for kind, gates in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        cell = make_cell(kind, IN, H)
        assert type(cell).__gradtrace_cell__.kind == kind
        assert cell.weight_hh.shape == (gates * H, H) and cell.weight_ih.shape == (gates * H, IN)
        assert cell.hidden_size == H
    rnn = make_cell("rnn", IN, H, activation="sigmoid")
    assert rnn.activation == "sigmoid" and callable(rnn.nonlinearity_fn)


def test_unknown_cell_or_activation_is_one_line_error_naming_the_field():
    with pytest.raises(InvalidValue, match=r"^cell: 'elman' is not allowed; choose one of"):
        make_cell("elman", IN, H)
    with pytest.raises(InvalidValue, match=r"^activation: 'gelu' is not allowed"):
        RNNCell(IN, H, activation="gelu")
