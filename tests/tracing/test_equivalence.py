"""Inside trace a model computes the same outputs and parameter gradients as outside it."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import gradtrace

CONFIGS = [
    ("LSTM", dict(num_layers=2, dropout=0.4, bidirectional=True)),
    ("GRU", dict(num_layers=3, dropout=0.3, batch_first=True)),
    ("RNN", dict(num_layers=2, dropout=0.5, nonlinearity="relu", bidirectional=True)),
    ("LSTM", dict(proj_size=3, num_layers=2, batch_first=True)),
    ("RNN", dict(bias=False)),
]


def _run(module, inputs, hx):
    """Forward + backward with a fresh seed; returns output, hidden state and all gradients."""
    module.zero_grad()
    torch.manual_seed(123)  # dropout masks: same generator state on both sides
    out, hidden = module(inputs, hx)
    data = out.data if hasattr(out, "batch_sizes") else out
    states = hidden if isinstance(hidden, tuple) else (hidden,)
    loss = (data.sin() * 1.7).sum() + sum((s**2).sum() for s in states)
    loss.backward()
    grads = [p.grad.clone() for p in module.parameters()]
    extra = [s.grad.clone() for s in (hx if isinstance(hx, tuple) else (hx,)) if s is not None]
    return data.detach(), [s.detach() for s in states], grads + extra


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=lambda v: str(v))
def test_outputs_and_gradients_match_the_untraced_module_in_training_mode(name, options, packed):
    module = getattr(nn, name)(6, 8, **options).train()
    batch_first = options.get("batch_first", False)
    dirs = 2 if options.get("bidirectional") else 1
    layers = options.get("num_layers", 1)
    x = torch.randn(5, 9, 6) if batch_first else torch.randn(9, 5, 6)
    width = options.get("proj_size") or 8
    h0 = torch.randn(layers * dirs, 5, width, requires_grad=True)
    hx = (h0, torch.randn(layers * dirs, 5, 8, requires_grad=True)) if name == "LSTM" else h0
    inputs = x
    if packed:
        lengths = torch.tensor([9, 4, 7, 1, 9])
        inputs = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    expected = _run(module, inputs, hx)
    for s in hx if isinstance(hx, tuple) else (hx,):
        s.grad = None
    with gradtrace.trace(module) as tr:
        got = _run(module, inputs, hx)
    assert len(tr.profile.layers) == layers * dirs
    torch.testing.assert_close(got[0], expected[0])
    for a, b in zip(got[1] + got[2], expected[1] + expected[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_dropout_consumes_the_random_generator_like_torch_does():
    module = nn.LSTM(4, 6, num_layers=3, dropout=0.5).train()
    x = torch.randn(7, 3, 4)
    torch.manual_seed(5)
    module(x)
    after_plain = torch.rand(3)
    with gradtrace.trace(module):
        torch.manual_seed(5)
        module(x)
        after_traced = torch.rand(3)
    assert torch.equal(after_plain, after_traced)


def test_no_grad_calls_inside_trace_run_the_module_itself():
    module = nn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    with gradtrace.trace(module) as tr, torch.no_grad():
        out, _ = module(x)
    assert not out.requires_grad
    with pytest.raises(RuntimeError, match="no gradient has reached"):
        _ = tr.profile


def test_input_that_torch_rejects_gets_torchs_own_error():
    module = nn.LSTM(3, 4)
    with gradtrace.trace(module), pytest.raises((RuntimeError, ValueError)) as traced:
        module(torch.randn(5, 2, 7))
    with pytest.raises((RuntimeError, ValueError)) as plain:
        module(torch.randn(5, 2, 7))
    assert str(traced.value) == str(plain.value)
