"""trace(observe_only=True): torch's own kernels run; the replayed profile equals the inline one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.errors import UnsupportedModel


class Stack(nn.Module):
    def __init__(self, kind: type[nn.RNNBase]) -> None:
        super().__init__()
        self.rnn = kind(3, 5, num_layers=2, dropout=0.3, bidirectional=True, batch_first=True)
        self.head = nn.Linear(10, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out).pow(2).sum()


@pytest.mark.parametrize("kind", [nn.RNN, nn.LSTM, nn.GRU])
def test_observed_and_replayed_profiles_equal_the_inline_trace_with_dropout(kind):
    torch.manual_seed(0)
    model = Stack(kind).double().train()
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    profiles, grads = [], []
    for observe in (False, True):
        torch.manual_seed(1)  # the same dropout masks in both runs
        model.zero_grad()
        with gradtrace.trace(model, observe_only=observe) as tr:
            model(x).backward()
            if observe:
                assert "forward" not in model.rnn.__dict__ and not model.rnn._forward_hooks
        profiles.append(tr.profile)
        grads.append([p.grad.clone() for p in model.parameters()])
    inline, observed = profiles
    assert inline.names == observed.names
    for a, b in zip(inline.layers, observed.layers, strict=True):
        assert abs(a.g - b.g).max() <= 1e-9 * a.g.max()
    for a, b in zip(*grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_observing_leaves_gradients_and_the_random_generator_as_without_tracing():
    torch.manual_seed(0)
    model = Stack(nn.LSTM).train()
    x = torch.randn(2, 6, 3)
    torch.manual_seed(5)
    model(x).backward()
    plain = [p.grad.clone() for p in model.parameters()]
    after_plain = torch.rand(3)
    model.zero_grad()
    torch.manual_seed(5)
    with gradtrace.trace(model, observe_only=True) as tr:
        model(x).backward()
    _ = tr.profile  # the replay forks the generator
    assert torch.equal(torch.rand(3), after_plain)
    assert all(torch.equal(a, p.grad) for a, p in zip(plain, model.parameters(), strict=True))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_anywhere_in_the_model_is_named():
    inner = torch.jit.script(nn.GRU(2, 3))
    model = nn.Sequential(nn.Linear(2, 2))
    model.add_module("encoder", inner)
    with pytest.raises(UnsupportedModel, match=r"encoder .* is TorchScript"):
        gradtrace.trace(model)
    with pytest.raises(UnsupportedModel, match="TorchScript"):
        gradtrace.diagnose(model, torch.randn(1, 4, 2))


def test_a_replay_after_the_parameters_changed_is_left_out_and_said(caplog):
    model = Stack(nn.GRU).double()
    with gradtrace.trace(model, observe_only=True) as tr:
        model(torch.randn(2, 5, 3, dtype=torch.float64)).backward()
    with torch.no_grad():
        model.rnn.weight_hh_l0.add_(0.1)  # what optimizer.step() does
    assert tr.profile.names == []
    assert "parameters changed between the forward and the profile" in caplog.text
