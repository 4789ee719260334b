"""A bounded curve recorder: keeps at most a fixed number of points however long the run."""

from __future__ import annotations

import math
from typing import Literal


class Curve:
    """(step, value) points, merged pairwise whenever the buffer fills (O(max_points) memory).

    ``reduce="mean"`` merges neighbours into their step-weighted mean (loss curves: every step
    counts); ``reduce="last"`` keeps the later point of each pair (eval curves: measured values
    only). `points()` returns at most ``max_points`` [step, value] pairs, non-finite as None.
    """

    def __init__(self, *, max_points: int = 200, reduce: Literal["mean", "last"] = "mean") -> None:
        self.max_points = max_points
        self.reduce = reduce
        self._width = 1  # steps (values) per full bucket
        self._full: list[tuple[int, float, int]] = []  # (last step, sum, count)
        self._open: tuple[int, float, int] | None = None

    def add(self, step: int, value: float) -> None:
        """Append one value measured at ``step``."""
        if self._open is None:
            self._open = (step, value, 1)
        elif self.reduce == "mean":
            _, total, count = self._open
            self._open = (step, total + value, count + 1)
        else:
            self._open = (step, value, self._open[2] + 1)
        if self._open[2] >= self._width:
            self._full.append(self._open)
            self._open = None
            if len(self._full) >= 2 * self.max_points:
                self._full = self._merged(self._full)
                self._width *= 2

    def points(self) -> list[list[float | None]]:
        """At most max_points [step, value] pairs in step order."""
        buckets = self._full + ([self._open] if self._open else [])
        while len(buckets) > self.max_points:
            buckets = self._merged(buckets)
        return [[b[0], _finite(self._value(b))] for b in buckets]

    def _value(self, bucket: tuple[int, float, int]) -> float:
        return bucket[1] / bucket[2] if self.reduce == "mean" else bucket[1]

    def _merged(self, buckets: list[tuple[int, float, int]]) -> list[tuple[int, float, int]]:
        out = []
        for i in range(0, len(buckets) - 1, 2):
            (_, a, n), (step, b, m) = buckets[i], buckets[i + 1]
            out.append((step, a + b, n + m) if self.reduce == "mean" else (step, b, n + m))
        if len(buckets) % 2:
            out.append(buckets[-1])
        return out


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
