"""The in-memory history of a monitor: lists of floats per key, halved when they grow too long."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.records import ProfileRecord, StepRecord


@dataclass
class Totals:
    """Exact counts over every step seen (never downsampled)."""

    steps: int = 0
    clipped: int = 0
    skipped: int = 0
    nonfinite: int = 0

    @property
    def clip_rate(self) -> float:
        """Fraction of steps on which clipping was active (nan before the first step)."""
        return self.clipped / self.steps if self.steps else math.nan


@dataclass
class History:
    """Per-step series, bounded to ``max_points`` by keeping every other point when full.

    ``steps[i]`` is the step of ``series[key][i]`` for every key; after ``k`` halvings one point
    in ``stride = 2**k`` steps is kept. Keys: ``global_norm``, ``global_norm_clipped``,
    ``clipped`` (0/1), ``subnormal_fraction``, ``layer/<name>`` for every layer, and ``loss`` and
    ``lr`` (the first param group's) once the monitor has them. Alerts and
    profiles are kept whole (up to ``max_events`` each, the latest).
    """

    max_points: int = 10_000
    max_events: int = 1_000
    steps: list[int] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    profiles: list[ProfileRecord] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    stride: int = 1
    _seen: int = 0

    def add_step(self, rec: StepRecord) -> None:
        """Record one step (kept when it falls on the current stride)."""
        self.totals.steps += 1
        self.totals.clipped += int(rec.clipped)
        self.totals.skipped += int(rec.skipped)
        self.totals.nonfinite += int(bool(rec.nonfinite) or not math.isfinite(rec.global_norm))
        keep = self._seen % self.stride == 0
        self._seen += 1
        if not keep:
            return
        values = {
            "global_norm": rec.global_norm,
            "global_norm_clipped": rec.global_norm_clipped,
            "clipped": float(rec.clipped),
            "subnormal_fraction": rec.subnormal_fraction,
        }
        values.update({f"layer/{name}": norm for name, norm in rec.layers.items()})
        if rec.loss is not None:
            values["loss"] = rec.loss
        if rec.lr:
            values["lr"] = rec.lr[0]
        self.steps.append(rec.step)
        for key, value in values.items():
            self.series.setdefault(key, [math.nan] * (len(self.steps) - 1)).append(float(value))
        for series in self.series.values():
            if len(series) < len(self.steps):  # a layer without gradients on this step
                series.append(math.nan)
        if len(self.steps) > self.max_points:
            self._halve()

    def add_alert(self, alert: Alert) -> None:
        """Keep an alert that was shown."""
        self.alerts.append(alert)
        del self.alerts[: -self.max_events]

    def add_profile(self, rec: ProfileRecord) -> None:
        """Keep a profile record."""
        self.profiles.append(rec)
        del self.profiles[: -self.max_events]

    def layers(self) -> list[str]:
        """Names of the layers that have a series."""
        return [key.removeprefix("layer/") for key in self.series if key.startswith("layer/")]

    def _halve(self) -> None:
        self.steps = self.steps[::2]
        self.series = {key: values[::2] for key, values in self.series.items()}
        self.stride *= 2
