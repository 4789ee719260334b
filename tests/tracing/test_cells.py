"""trace on one-step cells in a user's loop and on gradtrace models records g_t exactly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.models import ModelSpec, build_model

T, B, IN, H = 6, 3, 4, 5

CELLS = {
    "rnn": lambda: nn.RNNCell(IN, H),
    "rnn_relu": lambda: nn.RNNCell(IN, H, nonlinearity="relu"),
    "lstm": lambda: nn.LSTMCell(IN, H),
    "gru": lambda: nn.GRUCell(IN, H),
}


def _cell_weights(cell):
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return {n: getattr(cell, n).detach().double().requires_grad_() for n in names}


def _user_loop(cell, xs, lstm):
    """A loop as a user writes it: state None first, outputs stacked, a loss on all of them."""
    state, outs = None, []
    for x_t in xs:
        state = cell(x_t, state)
        outs.append(state[0] if lstm else state)
    out = torch.stack(outs)
    return (out.sin() * torch.linspace(0.2, 1.0, T, dtype=out.dtype)[:, None, None]).sum()


@pytest.mark.parametrize("name", list(CELLS))
def test_a_cell_in_a_user_loop_gets_exact_per_step_norms(ref, name):
    cell = CELLS[name]().double()
    lstm = name == "lstm"
    xs = torch.randn(T, B, IN, dtype=torch.float64)
    with gradtrace.trace(cell) as tr:
        _user_loop(cell, xs, lstm).backward()
    layer = tr.profile.layer("cell")
    assert layer.kind == ("rnn" if name.startswith("rnn") else name)
    # reference: the same loop in plain float64 ops, every state retained
    w, act = _cell_weights(cell), "relu" if name == "rnn_relu" else "tanh"
    h, c = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64)
    hs, cs = [], []
    for x_t in xs:
        h, c = ref.cell_step(layer.kind, w, x_t, h, c, act=act)
        h.retain_grad()
        hs.append(h)
        if lstm:
            c.retain_grad()
            cs.append(c)
    out = torch.stack(hs)
    (out.sin() * torch.linspace(0.2, 1.0, T, dtype=out.dtype)[:, None, None]).sum().backward()
    expected = torch.stack([torch.linalg.vector_norm(s.grad, dim=-1).mean() for s in hs])
    assert abs(layer.g - expected.numpy()).max() <= 1e-10 * expected.abs().max().item()
    if lstm:
        expected_c = torch.stack([torch.linalg.vector_norm(s.grad, dim=-1).mean() for s in cs])
        assert abs(layer.g_cell - expected_c.numpy()).max() <= 1e-10 * expected_c.max().item()
    else:
        assert layer.g_cell is None


def test_a_cell_run_by_two_loops_in_one_pass_counts_every_call_as_a_step():
    cell = nn.GRUCell(IN, H).double()
    xs = torch.randn(T, B, IN, dtype=torch.float64)
    with gradtrace.trace(cell) as tr:
        first = _user_loop(cell, xs, False)
        second = _user_loop(cell, xs.flip(0), False)
        (first + second).backward()
    assert tr.profile.layer("cell").seq_len == 2 * T


def _retained_profile(model, x):
    """Per-cell-step g_t by retain_grad on every cell output (forward hooks), no trace."""
    cells = [m for m in model.modules() if hasattr(type(m), "__gradtrace_cell__")]
    outputs = {id(c): [] for c in cells}

    def keep(module, _inputs, output):
        h = output[0] if isinstance(output, tuple) else output
        h.retain_grad()
        outputs[id(module)].append(h)

    handles = [c.register_forward_hook(keep) for c in cells]
    try:
        model(x).pow(2).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    return [
        torch.stack([torch.linalg.vector_norm(h.grad, dim=-1).mean() for h in outputs[id(c)]])
        for c in cells
    ]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradtrace_loop_models_match_retain_grad_and_their_fused_twin(cell):
    spec = ModelSpec(
        cell=cell, input_size=IN, hidden_size=H, num_layers=2, backend="fused", readout="all"
    )
    fused = build_model(spec).double()
    loop = fused.with_backend("loop")
    x = torch.randn(B, T, IN, dtype=torch.float64)
    profiles = []
    for model in (fused, loop):
        with gradtrace.trace(model) as tr:
            model(x).pow(2).sum().backward()
        profiles.append(tr.profile)
    assert profiles[0].names == ["layers.0.l0", "layers.1.l0"]
    assert profiles[1].names == ["layers.0", "layers.1"]
    expected = _retained_profile(loop, x)
    layers = (profiles[0].layers, profiles[1].layers, expected)
    for fused_layer, loop_layer, ref in zip(*layers, strict=True):
        scale = ref.abs().max().item()
        assert abs(loop_layer.g - ref.numpy()).max() <= 1e-10 * scale
        assert abs(fused_layer.g - ref.numpy()).max() <= 1e-10 * scale
        if cell == "lstm":
            assert abs(fused_layer.g_cell - loop_layer.g_cell).max() <= 1e-10 * scale


def test_a_layer_norm_loop_model_is_traced_through_its_cells():
    spec = ModelSpec(cell="lstm", input_size=IN, hidden_size=H, layer_norm=True, readout="all")
    model = build_model(spec).double()
    x = torch.randn(B, T, IN, dtype=torch.float64)
    with gradtrace.trace(model) as tr:
        model(x).pow(2).sum().backward()
    (expected,) = _retained_profile(model, x)
    got = tr.profile.layer("layers.0")
    assert abs(got.g - expected.numpy()).max() <= 1e-10 * expected.max().item()
