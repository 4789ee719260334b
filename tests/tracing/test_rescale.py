"""A float32 trace whose gradient vanishes below float32's range keeps full precision (rescale).

The reference is brute-force float64 autograd through the LSTM equations, one retained h_t and
c_t per step, with norms taken as max|v| * ||v / max|v||| so that they cannot underflow.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.tracing.kernels import rescale

T, B, IN, H = 400, 3, 2, 8
MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _vanishing(kind: str = "lstm", layers: int = 1) -> nn.RNNBase:
    torch.manual_seed(0)
    module = MODULES[kind](IN, H, num_layers=layers, batch_first=True)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if kind == "lstm" and name.startswith("bias"):
                p[H : 2 * H] = -0.5  # forget bias -1 in all: g_t falls to ~1e-170 in 400 steps
            if kind == "gru" and name.startswith("bias"):
                p[H : 2 * H] = -1.0  # update gates near 0.12
            if kind != "lstm" and name.startswith("weight_hh"):
                p.mul_(0.6)
    return module


def _norm(v: torch.Tensor) -> torch.Tensor:
    """Per-row L2 norm that cannot underflow (rows of v are examples)."""
    top = v.abs().amax(dim=-1, keepdim=True)
    safe = torch.where(top > 0, top, torch.ones_like(top))
    return (v / safe).norm(dim=-1) * top[..., 0]


def _brute_force(ref, module: nn.RNNBase, x: torch.Tensor, direct: int | None):
    """Per-layer (T,) mean ||dL/dh_t|| and the parameter gradients, float64 autograd."""
    kind = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(module)]
    params = {n: p.detach().double().requires_grad_() for n, p in module.named_parameters()}
    layer_in = x.double()
    states = []
    for layer in range(module.num_layers):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        w = {k: params[f"{k}_l{layer}"] for k in names} | {"weight_hr": None}
        h = c = torch.zeros(x.shape[0], H, dtype=torch.float64)
        hs = []
        for t in range(x.shape[1]):
            h, c = ref.cell_step(kind, w, layer_in[:, t], h, c)
            h.retain_grad()
            hs.append(h)
        states.append(hs)
        layer_in = torch.stack(hs, dim=1)
    top = states[-1]
    loss = top[-1].sum() + (0.0 if direct is None else top[direct].sum())
    loss.backward()
    profiles = [torch.stack([_norm(h.grad).mean() for h in hs]) for hs in states]
    return profiles, {n: p.grad for n, p in params.items()}


def _traced(module: nn.Module, x: torch.Tensor, direct: int | None):
    with gradtrace.trace(module) as tr:
        out, _ = module(x)
        loss = out[:, -1].sum() + (0.0 if direct is None else out[:, direct].sum())
        loss.backward()
    grads = {n: p.grad.double() for n, p in module.named_parameters()}
    return [torch.tensor(layer.g) for layer in tr.profile.layers], grads


CASES = [("lstm", 1, None), ("lstm", 1, 40), ("lstm", 2, None), ("gru", 2, 40), ("rnn", 2, 40)]


@pytest.mark.parametrize("kind, layers, direct", CASES)
def test_float32_trace_below_float32_range_equals_float64_brute_force(ref, kind, layers, direct):
    module = _vanishing(kind, layers)
    x = torch.randn(B, T, IN)
    want, want_grads = _brute_force(ref, module, x, direct)
    got, grads = _traced(module, x, direct)
    for w, g in zip(want, got, strict=True):
        assert float(w.min()) < 1e-80  # far below float32's smallest number (1.4e-45)
        torch.testing.assert_close(g, w, rtol=2e-5, atol=0.0)
    for name, w in want_grads.items():
        torch.testing.assert_close(grads[name], w, rtol=1e-4, atol=1e-6 * float(w.abs().max()))


def test_float64_trace_keeps_norms_whose_squares_would_underflow(ref):
    module = _vanishing().double()
    x = torch.randn(B, T, IN, dtype=torch.float64)
    want, _ = _brute_force(ref, module, x, None)
    got, _ = _traced(module, x, None)
    assert float(want[0].min()) < 1e-160  # entries squared fall below float64's range
    torch.testing.assert_close(got[0], want[0], rtol=1e-10, atol=0.0)


def test_without_rescaling_float32_loses_what_rescaling_keeps(ref, monkeypatch):
    module = _vanishing()
    x = torch.randn(B, T, IN)
    want, _ = _brute_force(ref, module, x, None)
    monkeypatch.setattr(rescale, "LOW_BITS", {})  # the plain float32 backward
    plain, _ = _traced(module, x, None)
    assert float(plain[0].min()) == 0.0 < float(want[0].min())


def test_a_backward_that_never_gets_small_is_bit_for_bit_the_unscaled_one(monkeypatch):
    torch.manual_seed(1)
    module = nn.LSTM(IN, H, num_layers=2, batch_first=True)
    x = torch.randn(B, 30, IN)
    scaled, scaled_grads = _traced(module, x, None)
    monkeypatch.setattr(rescale, "LOW_BITS", {})
    module.zero_grad()
    plain, plain_grads = _traced(module, x, None)
    for a, b in zip(scaled, plain, strict=True):
        assert torch.equal(a, b)
    for name, grad in plain_grads.items():
        assert torch.equal(scaled_grads[name], grad)
