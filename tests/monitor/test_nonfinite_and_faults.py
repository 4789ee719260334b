"""Non-finite gradients are warned about, skipped or raised; a broken monitor never stops a run."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from gradtrace.errors import InvalidValue
from gradtrace.monitor import GradtraceWarning, History, Monitor, NonFiniteGradient, Sink


def _poisoned_step(lm, model, opt, seed=0):
    opt.zero_grad()
    lm.loss(model, seed=seed).backward()
    model.lstm.weight_hh_l1.grad[0, 0] = math.nan
    opt.step()


def _adam(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    lm.train(model, opt, 2)  # Adam has state (moments, step count) before the bad step
    return model, opt


def test_warn_alerts_once_and_lets_the_step_poison_the_weights(lm):
    model, opt = _adam(lm)
    with Monitor(model, opt, profile_every=0) as monitor, pytest.warns(GradtraceWarning) as seen:
        _poisoned_step(lm, model, opt)
        monitor.flush()
    assert "nan/inf in 1 parameter(s) (lstm.weight_hh_l1)" in str(seen[0].message)
    assert torch.isnan(model.lstm.weight_hh_l1).any()
    assert [a.kind for a in monitor.alerts] == ["non-finite"]


def test_skip_leaves_weights_and_optimizer_state_untouched(lm):
    model, opt = _adam(lm)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    steps_before = [opt.state[p]["step"].item() for p in model.parameters()]
    with Monitor(model, opt, on_nonfinite="skip", profile_every=0, warn=False) as monitor:
        _poisoned_step(lm, model, opt)
        lm.train(model, opt, 1, seed=5)  # and training goes on normally afterwards
    for p in model.parameters():
        assert torch.isfinite(p).all()
    assert [opt.state[p]["step"].item() for p in model.parameters()] == [
        s + 1 for s in steps_before
    ]
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())
    assert monitor.history.totals.skipped == 1
    (alert,) = monitor.alerts
    assert alert.step == 0 and "the optimizer step was skipped" in alert.finding


def test_skip_leaves_weights_exactly_equal_on_the_skipped_step(lm):
    model, opt = _adam(lm)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    with Monitor(model, opt, on_nonfinite="skip", profile_every=0, warn=False):
        _poisoned_step(lm, model, opt)
    for n, p in model.named_parameters():
        assert torch.equal(before[n], p), n


def test_raise_names_the_parameters_and_the_step(lm):
    model, opt = _adam(lm)
    with Monitor(model, opt, on_nonfinite="raise", profile_every=1) as monitor:
        lm.train(model, opt, 2)
        with pytest.raises(NonFiniteGradient, match=r"step 2: .*lstm\.weight_hh_l1") as e:
            _poisoned_step(lm, model, opt)
        assert monitor.profiler.active  # the failed step's trace closed, a fresh one for the retry
        lm.train(model, opt, 1)  # a caller that catches the error can go on
    assert e.value.parameters == ["lstm.weight_hh_l1"]
    assert torch.isfinite(model.lstm.weight_hh_l1).all()
    assert monitor.history.steps == [0, 1, 2] and monitor.enabled is False
    assert [p.step for p in monitor.history.profiles] == [0, 1, 2]


class BrokenSink(Sink):
    """A sink that fails on its first write."""

    closed = False

    def write_step(self, rec):
        raise OSError("disk full")

    def close(self, history):
        self.closed = True


def test_a_failing_sink_is_switched_off_alone_with_one_logged_error(lm, caplog):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    broken, healthy = BrokenSink(), History()
    recorder = Sink()
    recorder.write_step = lambda rec: healthy.add_step(rec)  # a second sink that works
    monitor = Monitor(model, opt, sinks=[broken, recorder], profile_every=0, flush_every=2)
    with caplog.at_level(logging.ERROR, logger="gradtrace"):
        lm.train(model, opt, 6)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and "BrokenSink failed in write_step" in failures[0].getMessage()
    assert "OSError: disk full" in failures[0].getMessage()
    assert monitor.enabled and opt._optimizer_step_pre_hooks  # the monitor carries on
    assert monitor.sinks == [recorder] and monitor.reporter.failed_sinks[0][0] is broken
    assert healthy.steps == [0, 1, 2, 3, 4, 5] and monitor.history.totals.steps == 6
    monitor.close()  # the switched-off sink still gets closed
    assert broken.closed


def test_a_failing_norm_function_turns_monitoring_off_and_training_continues(lm, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("injected")

    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, opt, profile_every=0)
    lm.train(model, opt, 2)
    monkeypatch.setattr(monitor._meter, "measure", broken)
    before = model.decoder.weight.detach().clone()
    with pytest.warns(RuntimeWarning, match="RuntimeError: injected"):
        lm.train(model, opt, 3)
    assert not torch.equal(before, model.decoder.weight)  # the optimizer kept stepping
    assert not monitor.enabled
    assert monitor.history.totals.steps == 2  # measured before the fault: kept
    monitor.close()


def test_warnings_turned_into_errors_are_the_users_choice_and_propagate(lm):
    model, opt = _adam(lm)
    with Monitor(model, opt, profile_every=0, flush_every=1) as monitor:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error", GradtraceWarning)
            with pytest.raises(GradtraceWarning):
                _poisoned_step(lm, model, opt)
    assert monitor.enabled is False  # closed


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"clip": "norms"}, "clip"),
        ({"clip_value": 0}, "clip_value"),
        ({"on_nonfinite": "ignore"}, "on_nonfinite"),
        ({"profile_every": -1}, "profile_every"),
        ({"sinks": ["grads.csv"]}, "sinks"),
        ({"thresholds": {"spike": 3}}, "thresholds.spike"),
        ({"thresholds": {"spike_factor": 0.5}}, "thresholds.spike_factor"),
    ],
)
def test_bad_options_raise_one_line_naming_the_option(tiny_lm, kwargs, name):
    with pytest.raises(InvalidValue, match=f"^{name}: ") as e:
        Monitor(tiny_lm, **kwargs)
    assert "\n" not in str(e.value)


def test_a_model_without_parameters_or_a_wrong_optimizer_is_rejected(tiny_lm):
    with pytest.raises(InvalidValue, match=r"^model: "):
        Monitor(torch.nn.ReLU())
    with pytest.raises(InvalidValue, match=r"^optimizer: "):
        Monitor(tiny_lm, "adam")
