"""The bounded curve recorder: at most max_points, means preserved, measured values kept."""

from __future__ import annotations

import math

import pytest

from gradtrace.training.curve import Curve


@pytest.mark.parametrize("n", [0, 1, 199, 200, 201, 399, 400, 401, 5000, 12345])
def test_a_curve_never_holds_more_than_max_points_and_ends_at_the_last_step(n):
    curve = Curve(max_points=200)
    for step in range(1, n + 1):
        curve.add(step, float(step))
    points = curve.points()
    assert len(points) == min(n, 200) or (n > 200 and 100 <= len(points) <= 200)
    if n:
        assert points[-1][0] == n
        assert [p[0] for p in points] == sorted(p[0] for p in points)


def test_mean_buckets_preserve_the_overall_mean():
    curve = Curve(max_points=10, reduce="mean")
    values = [math.sin(i) + i / 100 for i in range(1, 1001)]
    for step, v in enumerate(values, start=1):
        curve.add(step, v)
    points = curve.points()
    # every bucket covers 2**j steps; weight each mean by its width to recover the total
    widths = [
        b - a for a, b in zip([0] + [p[0] for p in points], [p[0] for p in points], strict=False)
    ]
    total = sum(w * p[1] for w, p in zip(widths, points, strict=True))
    assert total / 1000 == pytest.approx(sum(values) / 1000, rel=1e-9)


def test_last_mode_keeps_only_values_that_were_measured():
    curve = Curve(max_points=8, reduce="last")
    measured = {step: step * 0.5 for step in range(10, 1000, 10)}
    for step, v in measured.items():
        curve.add(step, v)
    for step, v in curve.points():
        assert measured[step] == v


def test_non_finite_values_come_out_as_none():
    curve = Curve(max_points=4)
    curve.add(1, 1.0)
    curve.add(2, float("nan"))
    assert curve.points() == [[1, 1.0], [2, None]]
