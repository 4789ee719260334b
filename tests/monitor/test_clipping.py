"""Clipping done by the monitor equals torch's, and both the raw and the clipped norm are right."""

from __future__ import annotations

import copy

import pytest
import torch

from gradtrace.monitor import Monitor


def _twins(lm):
    torch.manual_seed(0)
    a = lm.TinyLM()
    return a, copy.deepcopy(a)


@pytest.mark.parametrize("clip_value", [0.05, 100.0])
def test_norm_clipping_equals_clip_grad_norm_and_records_both_norms(lm, clip_value):
    model, twin = _twins(lm)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    raw, clipped = [], []
    with Monitor(model, opt, clip="norm", clip_value=clip_value, profile_every=0) as monitor:
        for i in range(4):
            for m, o in ((model, opt), (twin, twin_opt)):
                o.zero_grad()
                lm.loss(m, seed=i).backward()
            raw.append(torch.nn.utils.clip_grad_norm_(twin.parameters(), clip_value).item())
            clipped.append(torch.nn.utils.get_total_norm([p.grad for p in twin.parameters()]))
            opt.step()
            twin_opt.step()
            for p, q in zip(model.parameters(), twin.parameters(), strict=True):
                assert torch.equal(p.grad, q.grad)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)
    series = monitor.history.series
    assert series["global_norm"] == raw
    assert series["global_norm_clipped"] == pytest.approx([c.item() for c in clipped], rel=1e-5)
    active = clip_value < min(raw)
    assert series["clipped"] == [float(active)] * 4
    assert monitor.history.totals.clip_rate == float(active)


def test_value_clipping_equals_clip_grad_value_and_measures_the_clipped_norm(lm):
    model, twin = _twins(lm)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with Monitor(model, opt, clip="value", clip_value=0.01, profile_every=0) as monitor:
        for m in (model, twin):
            lm.loss(m).backward()
        raw = torch.nn.utils.get_total_norm([p.grad for p in twin.parameters()]).item()
        torch.nn.utils.clip_grad_value_(twin.parameters(), 0.01)
        opt.step()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
    post = torch.nn.utils.get_total_norm([p.grad for p in twin.parameters()]).item()
    series = monitor.history.series
    assert series["global_norm"] == [raw]
    assert series["global_norm_clipped"] == [pytest.approx(post, rel=1e-6)]
    assert post < raw
    assert series["clipped"] == [1.0]


def test_value_clipping_above_the_largest_entry_changes_nothing(lm):
    model, _ = _twins(lm)
    with Monitor(model, clip="value", clip_value=1e6, profile_every=0) as monitor:
        lm.loss(model).backward()
        before = [p.grad.clone() for p in model.parameters()]
        monitor.step()
    assert all(torch.equal(b, p.grad) for b, p in zip(before, model.parameters(), strict=True))
    assert monitor.history.series["clipped"] == [0.0]


def test_observe_before_your_own_clipping_records_raw_and_clipped_norms(lm):
    model, _ = _twins(lm)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, profile_every=0) as monitor:
        for i in range(3):
            opt.zero_grad()
            lm.loss(model, seed=i).backward()
            monitor.observe()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)
            opt.step()
    series = monitor.history.series
    assert monitor.history.steps == [0, 1, 2]
    assert all(raw > 0.01 for raw in series["global_norm"])
    assert series["global_norm_clipped"] == pytest.approx([0.01] * 3, rel=1e-4)
    assert series["clipped"] == [1.0, 1.0, 1.0]


def test_explicit_step_with_an_optimizer_records_each_step_once(lm):
    model, _ = _twins(lm)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, profile_every=0) as monitor:
        lm.train(model, opt, 3)  # no monitor.step(): the hook records
        for i in range(2):
            opt.zero_grad()
            lm.loss(model, seed=i).backward()
            monitor.step()
            opt.step()
    assert monitor.history.steps == [0, 1, 2, 3, 4]


def test_closing_removes_the_optimizer_hook(lm):
    model, _ = _twins(lm)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, opt, profile_every=0)
    lm.train(model, opt, 2)
    monitor.close()
    lm.train(model, opt, 2)
    assert monitor.history.totals.steps == 2
    assert not opt._optimizer_step_pre_hooks
    assert not model._forward_pre_hooks
