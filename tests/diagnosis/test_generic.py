"""Declared cells of unknown kind: their Jacobians along the calls, all steps at once or one by
one, equal an independent per-step autograd Jacobian; the spectrum's step budget is labelled."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradtrace.diagnosis import diagnose, generic
from gradtrace.diagnosis.recorder import record

F64 = torch.float64


class Cell(nn.Module):
    """h = tanh(W [x, h] + b) * scale: a cell gradtrace knows only by its declaration."""

    def __init__(self, n_in: int, hidden: int) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in + hidden, hidden)

    def forward(self, x, h, scale=1.0):
        return torch.tanh(self.lin(torch.cat([x, h], -1))) * scale


class Loop(nn.Module):
    def __init__(self, hidden: int = 6, varying: bool = False) -> None:
        super().__init__()
        self.cell, self.hidden, self.varying = Cell(3, hidden), hidden, varying

    def forward(self, x):
        h = torch.zeros(x.shape[1], self.hidden, dtype=x.dtype)
        for t in range(x.shape[0]):
            h = self.cell(x[t], h, 1.0 + 0.01 * t if self.varying else 1.0)
        return h


def _run(model, x):
    with record(model, {Cell: None}) as recording:
        model(x)
    (run,) = generic.generic_runs(model, recording, {Cell: None})
    return run


def _brute_force(model, x, example):
    cell, hs, out = model.cell.double(), [torch.zeros(1, model.hidden, dtype=F64)], []
    xs = x.double()[:, example : example + 1]
    for t in range(x.shape[0]):
        scale = 1.0 + 0.01 * t if model.varying else 1.0
        step = lambda h, xt=xs[t], s=scale: cell(xt, h, s)  # noqa: E731
        out.append(torch.autograd.functional.jacobian(step, hs[-1]))
        hs.append(cell(xs[t], hs[-1], scale).detach())
    return torch.stack([j[0, :, 0, :] for j in out])


@pytest.mark.parametrize("varying", [False, True], ids=["batched over time", "step by step"])
def test_the_jacobians_along_the_calls_equal_a_per_step_autograd_jacobian(varying):
    torch.manual_seed(0)
    model, x = Loop(varying=varying).double(), torch.randn(12, 2, 3, dtype=F64)
    run = _run(model, x)
    for example in (0, 1):
        got = generic.jacobians(run, example=example)
        torch.testing.assert_close(got, _brute_force(model, x, example), rtol=1e-12, atol=1e-14)
    assert generic.jacobians(run, example=0) is run.computed[0]  # computed once, reused
    steps = [generic._step_map(run, call, 0, _params(model)) for call in run.calls]
    assert (generic._over_time(steps) is None) == varying  # a changing constant: step by step


def _params(model):
    return {k: v.detach().to(F64) for k, v in model.cell.named_parameters()}


def test_a_long_trajectory_takes_the_spectrum_medians_over_spread_steps_and_says_so(monkeypatch):
    monkeypatch.setattr(generic, "SPECTRUM_BUDGET", 6**3 * 20)
    assert generic.spectrum_steps(10, 6) == list(range(10))
    chosen = generic.spectrum_steps(100, 6)
    assert len(chosen) == 20 and chosen[0] == 0 and chosen[-1] == 99
    torch.manual_seed(0)
    found = diagnose(Loop(), torch.randn(100, 2, 3), cells={Cell: None})
    note = found.not_computed["spectra: cell (every step)"]
    assert "over 20 of its 100 steps" in note
    short = diagnose(Loop(), torch.randn(10, 2, 3), cells={Cell: None})
    assert "spectra: cell (every step)" not in short.not_computed
