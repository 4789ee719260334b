"""When the monitor raises an alert: the detectors' thresholds in one frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from gradtrace.errors import check
from gradtrace.flow import DEFAULT_EPS


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds of a Monitor; every field has a default that suits most training runs.

    Attributes:
        spike_factor: exploding alert when a norm (global or one layer's) exceeds this many times
            its rolling median (default 10).
        spike_window: steps in that rolling median (default 50).
        spike_warmup: steps of history needed before spikes are judged (default 10).
        layer_share: a layer's spike is reported on its own (without a global spike) only when
            that layer carries at least this share of the global norm (default 0.5); a small
            layer whose tiny gradient grows, as an embedding's does early in training, is not
            an explosion.
        vanish_eps: vanishing alert when a layer's norm stays below ``vanish_eps`` times its early
            level (default 1e-3, the project's horizon eps).
        vanish_patience: ... for this many consecutive steps (default 20).
        early_steps: the early level is the median of a layer's first finite norms (default 5).
        horizon_eps: eps of the profile horizon; a recurrent layer whose horizon is shorter than
            the sequence raises a vanishing alert (default 1e-3).
        subnormal_fraction: subnormal alert when more than this fraction of the sampled gradient
            entries are subnormal floats (default 0.01).
        clip_rate: alert when clipping is active on more than this fraction of the last
            ``spike_window`` steps; None (default) turns it off, since language models clipped
            at 0.25 are clipped on almost every step by design.
        cooldown: steps before an alert of the same kind on the same layer is shown again
            (default 100); repeats in between are counted, not shown.
    """

    spike_factor: float = 10.0
    spike_window: int = 50
    spike_warmup: int = 10
    layer_share: float = 0.5
    vanish_eps: float = DEFAULT_EPS
    vanish_patience: int = 20
    early_steps: int = 5
    horizon_eps: float = DEFAULT_EPS
    subnormal_fraction: float = 0.01
    clip_rate: float | None = None
    cooldown: int = 100

    def __post_init__(self) -> None:
        _positive("thresholds.spike_factor", self.spike_factor, above=1.0)
        _count("thresholds.spike_window", self.spike_window, least=2)
        _count("thresholds.spike_warmup", self.spike_warmup, least=1)
        check(
            self.spike_warmup <= self.spike_window,
            "thresholds.spike_warmup",
            self.spike_warmup,
            f"at most spike_window ({self.spike_window})",
        )
        _fraction("thresholds.layer_share", self.layer_share)
        _fraction("thresholds.vanish_eps", self.vanish_eps)
        _count("thresholds.vanish_patience", self.vanish_patience, least=1)
        _count("thresholds.early_steps", self.early_steps, least=1)
        _fraction("thresholds.horizon_eps", self.horizon_eps)
        _fraction("thresholds.subnormal_fraction", self.subnormal_fraction)
        if self.clip_rate is not None:
            _fraction("thresholds.clip_rate", self.clip_rate)
        _count("thresholds.cooldown", self.cooldown, least=1)

    def to_dict(self) -> dict:
        """The thresholds as a plain dict."""
        return asdict(self)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(name: str, value: object, *, above: float) -> None:
    ok = _is_number(value) and math.isfinite(value) and value > above
    check(ok, name, value, f"a finite number above {above:g}")


def _fraction(name: str, value: object) -> None:
    ok = _is_number(value) and 0.0 < value < 1.0
    check(ok, name, value, "a number strictly between 0 and 1")


def _count(name: str, value: object, *, least: int) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= least
    check(ok, name, value, f"an integer >= {least}")
