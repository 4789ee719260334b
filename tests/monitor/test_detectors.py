"""Spike, collapse and rate detectors on synthetic norm streams fire when, and only when, due."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradtrace.errors import InvalidValue
from gradtrace.monitor import Alert, Thresholds
from gradtrace.monitor.alerts import AlertGate
from gradtrace.monitor.detectors import RateDetector, SpikeDetector, VanishDetector
from gradtrace.monitor.records import StepRecord
from gradtrace.monitor.rules import StepRules


def _noisy(n: int, *, level: float = 1.0, spread: float = 0.5, seed: int = 0) -> np.ndarray:
    """A healthy norm stream: log-normal noise around ``level`` (3x swings are common)."""
    return level * np.exp(spread * np.random.default_rng(seed).standard_normal(n))


def _fires(detector, stream) -> list[int]:
    return [i for i, v in enumerate(stream) if detector.update(float(v)) is not None]


def test_a_single_spike_in_a_noisy_stream_is_flagged_at_its_step():
    stream = _noisy(200)
    stream[120] = 40.0
    detector = SpikeDetector(factor=10, window=50, warmup=10)
    assert _fires(detector, stream) == [120]


def test_noise_and_slow_drift_raise_no_spike():
    drift = _noisy(2000) * np.geomspace(1.0, 1e4, 2000)  # four decades, slowly
    assert _fires(SpikeDetector(factor=10, window=50, warmup=10), drift) == []


def test_no_spike_is_judged_before_warmup_and_a_new_level_stops_firing():
    stream = np.concatenate([_noisy(5), _noisy(100, level=1000.0)])
    fired = _fires(SpikeDetector(factor=10, window=50, warmup=10), stream)
    assert fired == []  # the jump came during warmup: nothing to compare against yet
    stream = np.concatenate([_noisy(60), _noisy(100, level=1000.0, seed=1)])
    fired = _fires(SpikeDetector(factor=10, window=50, warmup=10), stream)
    assert fired and fired[0] == 60 and max(fired) < 60 + 26  # quiet once it fills half the window


def test_non_finite_values_are_not_spikes_and_do_not_enter_the_window():
    detector = SpikeDetector(factor=10, window=5, warmup=2)
    for value in (1.0, math.nan, math.inf, 1.0):
        assert detector.update(value) is None
    assert detector.median == 1.0
    assert detector.update(11.0) == 1.0


def test_a_collapse_below_eps_times_the_early_level_fires_after_patience():
    stream = np.concatenate([_noisy(30), _noisy(40, level=1e-5)])
    detector = VanishDetector(eps=1e-3, patience=20, early_steps=5)
    assert _fires(detector, stream) == [30 + 19]
    assert detector.level == pytest.approx(float(np.median(stream[:5])))


def test_a_dip_shorter_than_patience_and_a_tenfold_decline_do_not_fire():
    dip = np.concatenate([_noisy(30), _noisy(19, level=1e-6), _noisy(30)])
    assert _fires(VanishDetector(eps=1e-3, patience=20, early_steps=5), dip) == []
    decline = _noisy(500) * np.geomspace(1.0, 0.01, 500)  # 100x smaller: still learning
    assert _fires(VanishDetector(eps=1e-3, patience=20, early_steps=5), decline) == []


def test_a_collapse_within_the_early_steps_still_has_a_level_to_fall_from():
    stream = np.concatenate([[5e4, 3e4], np.zeros(30)])
    detector = VanishDetector(eps=1e-3, patience=20, early_steps=5)
    assert _fires(detector, stream) == [24]
    assert detector.level == 4e4
    silent = VanishDetector(eps=1e-3, patience=20, early_steps=5)
    assert _fires(silent, np.zeros(100)) == []  # never had a signal: nothing vanished


def test_a_collapse_fires_again_only_after_recovering():
    stream = np.concatenate([np.ones(5), np.zeros(25), np.ones(3), np.zeros(25)])
    assert _fires(VanishDetector(eps=1e-3, patience=20, early_steps=5), stream) == [24, 52]


def test_rate_detector_fires_once_per_crossing():
    flags = [True] * 30 + [False] * 30 + [True] * 30
    assert _fires(RateDetector(limit=0.9, window=10), flags) == [9, 69]


def _record(step: int, norm: float, layers: dict | None = None, **extra) -> StepRecord:
    layers = layers or {"rnn.l0": norm}
    base = {"clipped": False, "skipped": False, "nonfinite": [], "subnormal_fraction": 0.0}
    base.update(extra)
    return StepRecord(step, norm, norm, layers=layers, params=dict(layers), **base)


def test_rules_name_the_step_the_layer_the_numbers_and_a_fix():
    rules = StepRules(("rnn.l0",), Thresholds(), clip=None, clip_value=1.0, on_nonfinite="warn")
    alerts = []
    for step, value in enumerate(_noisy(40)):
        alerts += rules.check(_record(step, float(value)))
    assert alerts == []
    alerts = rules.check(_record(40, 500.0))
    assert [(a.step, a.kind, a.where) for a in alerts] == [(40, "exploding", "global")]
    message = alerts[0].message
    assert message.startswith("step 40: exploding gradient in global: norm 500 is ")
    assert "largest rise in rnn.l0" in message and "Fix: clip the global gradient norm" in message


def test_a_layer_spike_alone_is_reported_only_when_that_layer_carries_the_gradient():
    layers = ("main", "rnn", "embed")
    rules = StepRules(layers, Thresholds(), clip=None, clip_value=1.0, on_nonfinite="warn")

    def step(i: int, norms: tuple[float, float, float]) -> list:
        rec = _record(i, math.hypot(*norms), dict(zip(layers, norms, strict=True)))
        return rules.check(rec)

    for i in range(20):
        assert step(i, (1.0, 0.1, 0.001)) == []
    assert step(20, (1.0, 0.1, 0.05)) == []  # embed 50x, but 5 % of the norm: learning
    (alert,) = step(21, (1.0, 5.0, 0.001))  # rnn 50x and most of the norm; global only 5x
    assert (alert.kind, alert.where, alert.value, alert.reference) == ("exploding", "rnn", 5, 0.1)


def test_rules_report_non_finite_parameters_and_the_policy():
    rules = StepRules(("a", "b"), Thresholds(), clip="norm", clip_value=1.0, on_nonfinite="skip")
    rec = _record(3, math.nan, {"a": math.nan, "b": 1.0}, nonfinite=["a.weight"], skipped=True)
    (alert,) = rules.check(rec)
    assert (alert.kind, alert.where) == ("non-finite", "a.weight")  # one parameter: named
    assert "nan/inf in 1 parameter(s) (a.weight)" in alert.finding and "skipped" in alert.finding


def test_subnormal_and_clip_rate_alerts_follow_their_thresholds():
    t = Thresholds(clip_rate=0.5, spike_window=4, spike_warmup=2)
    rules = StepRules(("l",), t, clip="norm", clip_value=1.0, on_nonfinite="warn")
    kinds = []
    for step in range(6):
        rec = _record(step, 2.0, clipped=True, subnormal_fraction=0.2 if step == 1 else 0.0)
        kinds += [a.kind for a in rules.check(rec)]
    assert kinds == ["subnormal", "clip-rate"]


def test_gate_holds_back_repeats_within_the_cooldown_and_counts_them():
    gate = AlertGate(cooldown=100)

    def alert(step, where="x"):
        return Alert(step, "exploding", where, 1.0, 1.0, "f", "a")

    shown = [a for a in (alert(0), alert(1), alert(50), alert(60, "y"), alert(99)) if gate.admit(a)]
    assert [(a.step, a.where) for a in shown] == [(0, "x"), (60, "y")]
    again = alert(100)
    assert gate.admit(again) and again.repeats == 3
    assert "(3 similar held back)" in again.message


@pytest.mark.parametrize(
    ("field", "value"),
    [("spike_factor", 1.0), ("spike_window", 1), ("vanish_eps", 0.0), ("clip_rate", 1.5),
     ("spike_warmup", 60), ("cooldown", True)],
)  # fmt: skip
def test_thresholds_reject_values_that_would_never_or_always_fire(field, value):
    with pytest.raises(InvalidValue, match=f"thresholds.{field}: "):
        Thresholds(**{field: value})
