"""Streaming detectors over one norm series: spikes against a rolling median, sustained collapse."""

from __future__ import annotations

import math
import statistics
from collections import deque


class SpikeDetector:
    """Flags a value above ``factor`` times the median of the last ``window`` finite values.

    Spikes stay in the window (a median shrugs off single outliers), so a norm that settles at a
    new, higher level stops being flagged once it fills half the window. Non-finite values are
    never flagged here (the monitor reports them as non-finite) and never enter the window.
    """

    def __init__(self, *, factor: float, window: int, warmup: int) -> None:
        self.factor = factor
        self.warmup = warmup
        self._values: deque[float] = deque(maxlen=window)

    @property
    def median(self) -> float:
        """The median of the current window (nan while it is empty)."""
        return statistics.median(self._values) if self._values else math.nan

    def update(self, value: float) -> float | None:
        """Feed one value; returns the baseline median when the value is a spike, else None."""
        if not math.isfinite(value):
            return None
        baseline = None
        if len(self._values) >= self.warmup:
            median = self.median
            if median > 0 and value > self.factor * median:
                baseline = median
        self._values.append(value)
        return baseline


class VanishDetector:
    """Flags a value that stays below ``eps`` times its early level for ``patience`` steps.

    The early level is the median of the positive values among the first ``early_steps`` finite
    values (a layer that is zero from the start waits for its first signal). The detector fires
    once per streak (on the step the streak reaches ``patience``) and re-arms when the value
    recovers; a layer whose gradient is exactly zero counts as collapsed.
    """

    def __init__(self, *, eps: float, patience: int, early_steps: int) -> None:
        self.eps = eps
        self.patience = patience
        self.early_steps = early_steps
        self._early: list[float] = []
        self.level: float | None = None
        self._streak = 0

    def update(self, value: float) -> float | None:
        """Feed one value; returns the early level when a collapse is confirmed, else None."""
        if not math.isfinite(value):
            return None
        if self.level is None:
            self._early.append(value)
            if len(self._early) == self.early_steps:
                positive = [v for v in self._early if v > 0]
                self._early.clear()
                self.level = statistics.median(positive) if positive else None
            return None
        if value < self.eps * self.level:
            self._streak += 1
            return self.level if self._streak == self.patience else None
        self._streak = 0
        return None


class RateDetector:
    """Flags when the mean of the last ``window`` booleans exceeds ``limit`` (once per crossing)."""

    def __init__(self, *, limit: float, window: int) -> None:
        self.limit = limit
        self._values: deque[bool] = deque(maxlen=window)
        self._above = False

    def update(self, flag: bool) -> float | None:
        """Feed one flag; returns the rate when it first rises above the limit, else None."""
        self._values.append(bool(flag))
        full = len(self._values) == self._values.maxlen
        rate = sum(self._values) / len(self._values)
        above = full and rate > self.limit
        fired = above and not self._above
        self._above = above
        return rate if fired else None
