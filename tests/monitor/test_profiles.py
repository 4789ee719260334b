"""Scheduled gradient-through-time profiles: when they are taken, what they equal, what they say."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from torch import nn

from gradtrace.monitor import Monitor, read_jsonl

tracing = pytest.importorskip("gradtrace.tracing")


class LastStepRNN(nn.Module):
    """A tanh RNN whose loss reads only the last step: the textbook vanishing setting."""

    def __init__(self, *, hidden: int = 16, scale: float = 1.0) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.mul_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.rnn(x)[0][:, -1])  # (B, 1)


def _rnn_steps(model, opt, steps: int, *, seq_len: int = 60) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(8, seq_len, 3, generator=g)
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()


def test_profiles_are_taken_on_steps_0_k_2k_and_only_on_training_forwards(lm, tmp_path):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "grads.jsonl"
    with Monitor(model, opt, profile_every=3, sinks=[path]) as monitor:
        for i in range(7):
            with torch.no_grad():
                model.eval()
                lm.loss(model, seed=99)  # an evaluation forward: never traced
                model.train()
            opt.zero_grad()
            lm.loss(model, seed=i).backward()
            opt.step()
    profiles = monitor.history.profiles
    assert [p.step for p in profiles] == [0, 3, 6]
    assert [row["name"] for row in profiles[0].layers] == ["lstm.l0", "lstm.l1"]
    assert not model._forward_pre_hooks
    lines = read_jsonl(path, kind="profile")
    assert [r["step"] for r in lines] == [0, 3, 6]
    restored = tracing.GradientProfile.from_dict(lines[1]["profile"])
    assert [layer.name for layer in restored.layers] == ["lstm.l0", "lstm.l1"]


def test_a_monitored_profile_equals_a_direct_trace_of_the_same_step(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    twin = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, profile_every=1) as monitor:
        opt.zero_grad()
        lm.loss(model, seed=4).backward()
        opt.step()
    with tracing.trace(twin) as tracer:
        lm.loss(twin, seed=4).backward()
    expected = tracer.profile
    got = tracing.GradientProfile.from_dict(monitor.history.profiles[0].profile)
    for a, b in zip(got.layers, expected.layers, strict=True):
        assert a.name == b.name
        torch.testing.assert_close(torch.as_tensor(a.g), torch.as_tensor(b.g))


def test_tracing_a_step_leaves_its_gradients_as_they_would_be(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    twin = copy.deepcopy(model)
    with Monitor(model, profile_every=1) as monitor:
        lm.loss(model, seed=2).backward()
        monitor.step()
    lm.loss(twin, seed=2).backward()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7)
    assert len(monitor.history.profiles) == 1


def test_a_short_horizon_raises_a_vanishing_alert_with_the_numbers_and_advice():
    torch.manual_seed(0)
    model = LastStepRNN(scale=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model, opt, profile_every=100, warn=False) as monitor:
        _rnn_steps(model, opt, 1)
    (alert,) = [a for a in monitor.alerts if a.kind == "vanishing"]
    assert alert.step == 0 and alert.where == "rnn.l0"
    assert alert.reference == 60 and 1 <= alert.value < 60
    assert f"after {int(alert.value)} of 60 steps" in alert.finding
    assert "gated cell" in alert.advice
    assert monitor.history.profiles[0].verdict == "vanishing"


def test_saturated_units_raise_an_alert_naming_the_layer():
    torch.manual_seed(0)
    model = LastStepRNN(scale=1.0)
    with torch.no_grad():
        model.rnn.weight_ih_l0.normal_(0.0, 4.0)  # pre-activations far into tanh's flat tails
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    with Monitor(model, opt, warn=False) as monitor:
        _rnn_steps(model, opt, 1)
    saturated = [a for a in monitor.alerts if a.kind == "saturated"]
    assert [a.where for a in saturated] == ["rnn.l0"]
    assert saturated[0].value > 0.25 and "layer normalization" in saturated[0].advice
    assert monitor.history.profiles[0].health["layers"][0]["saturated"] == saturated[0].value


def test_a_healthy_model_gets_profiles_and_no_alert(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, profile_every=2) as monitor:
        lm.train(model, opt, 4)
    assert len(monitor.history.profiles) == 2 and monitor.alerts == []


def test_a_model_without_recurrent_layers_turns_profiles_off_once(caplog):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with caplog.at_level(logging.WARNING, logger="gradtrace"), Monitor(model, opt) as monitor:
        for _ in range(3):
            opt.zero_grad()
            model(torch.randn(2, 3)).sum().backward()
            opt.step()
    assert monitor.enabled is False and monitor.history.totals.steps == 3
    assert monitor.profiler.off_reason is not None
    assert sum("profiles are off" in r.getMessage() for r in caplog.records) == 1
