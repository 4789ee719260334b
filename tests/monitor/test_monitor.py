"""The Monitor's life cycle: attaching, batching to the host, history bounds, subnormals."""

from __future__ import annotations

import importlib
import math
import sys

import pytest
import torch

import gradtrace
from gradtrace.monitor import History, Monitor, Sink, StepRecord


class Counting(Sink):
    """Remembers when records arrive and how many flushes there were."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.flushes = 0
        self.closed = False

    def write_step(self, rec):
        self.steps.append(rec.step)

    def flush(self):
        self.flushes += 1

    def close(self, history):
        self.closed = True


def test_monitor_is_exported_at_the_top_level():
    assert gradtrace.Monitor is Monitor


def test_without_an_optimizer_step_records_after_backward(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    with Monitor(tiny_lm, profile_every=0) as monitor:
        lm.train(tiny_lm, opt, 3, monitor=monitor)
    assert monitor.history.steps == [0, 1, 2]
    assert monitor.step_count == 3


def test_records_reach_sinks_in_batches_of_flush_every_and_at_close(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    sink = Counting()
    monitor = Monitor(tiny_lm, opt, sinks=[sink], profile_every=0, flush_every=4)
    lm.train(tiny_lm, opt, 6)
    assert sink.steps == [0, 1, 2, 3] and sink.flushes == 1
    monitor.close()
    assert sink.steps == [0, 1, 2, 3, 4, 5] and sink.closed
    monitor.close()  # twice is fine
    lm.train(tiny_lm, opt, 2)
    assert monitor.history.totals.steps == 6


def test_a_step_without_any_gradient_is_not_recorded(tiny_lm):
    with Monitor(tiny_lm, profile_every=0) as monitor:
        monitor.step()
    assert monitor.history.totals.steps == 0 and monitor.step_count == 0


def _rec(step: int) -> StepRecord:
    return StepRecord(step, float(step), float(step), False, False, [], math.nan, {"l": 1.0}, {})


def test_history_halves_when_full_and_keeps_steps_aligned():
    history = History(max_points=8)
    for step in range(20):
        history.add_step(_rec(step))
    assert history.stride == 4
    assert history.steps == [0, 4, 8, 12, 16]
    assert history.series["global_norm"] == [0.0, 4.0, 8.0, 12.0, 16.0]
    assert all(len(v) == len(history.steps) for v in history.series.values())
    assert history.totals.steps == 20


def test_subnormal_fraction_is_counted_every_nth_step_and_raises_an_alert(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    records = []

    class Keep(Sink):
        def write_step(self, rec):
            records.append(rec)

    with Monitor(model, opt, profile_every=0, subnormal_every=2, sinks=[Keep()], warn=False) as m:
        for _ in range(3):
            opt.zero_grad()
            lm.loss(model).backward()
            model.lstm.weight_hh_l0.grad.fill_(1e-41)  # subnormal in float32
            opt.step()
    fractions = [r.subnormal_fraction for r in records]
    total = sum(p.numel() for p in model.parameters())
    assert fractions[0] == model.lstm.weight_hh_l0.numel() / total
    assert math.isnan(fractions[1]) and fractions[2] == fractions[0]
    assert [(a.step, a.kind) for a in m.alerts] == [(0, "subnormal")]
    assert "flush_denormal" in m.alerts[0].advice


def test_the_lightning_callback_without_lightning_says_what_to_install(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)  # makes "import name" fail
    monkeypatch.delitem(sys.modules, "gradtrace.lightning", raising=False)
    module = importlib.import_module("gradtrace.lightning")  # importing the module is fine
    with pytest.raises(ImportError, match=r"pip install 'gradtrace\[lightning\]'"):
        module.GradtraceCallback  # noqa: B018
    monkeypatch.delitem(sys.modules, "gradtrace.lightning", raising=False)
