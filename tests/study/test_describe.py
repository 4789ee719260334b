"""Limitations and matrix marks are derived from outcomes: each rule checked on small cells."""

from __future__ import annotations

from gradtrace.study.describe import limitation, matrix_text
from gradtrace.study.outcomes import Cell, group_cells, longest_solved, ratio


def row(seq_len, status, *, seed=0, steps=100, metric=None, error=None, max_steps=100, **extra):
    record = {"metric": metric, "baseline": 1 / 6, "higher_is_better": False, "metric_name": "mse"}
    return {
        "task": "adding",
        "variant": "v",
        "seq_len": seq_len,
        "seed": seed,
        "status": status,
        "steps": steps,
        "steps_to_solve": steps if status == "solved" else None,
        "metric": metric,
        "error": error,
        "record": record,
        "config": {"train": {"max_steps": max_steps}},
        **extra,
    }


def cells_of(*rows) -> list[Cell]:
    return sorted(group_cells(rows).values(), key=lambda c: c.seq_len)


def test_a_variant_that_solves_everything_says_so():
    cells = cells_of(row(10, "solved"), row(50, "solved"))
    assert limitation(cells) == "solved all T tested (up to 50)"
    assert longest_solved(cells) == 50


def test_unsolved_runs_near_chance_stay_at_baseline_from_the_first_failing_length():
    cells = cells_of(
        row(10, "solved"), row(50, "unsolved", metric=0.16), row(100, "unsolved", metric=0.17)
    )
    assert limitation(cells) == "stays at baseline from T=50"


def test_a_gap_in_failures_lists_the_lengths_instead():
    cells = cells_of(row(10, "unsolved", metric=0.16), row(50, "solved"))
    assert limitation(cells) == "stays at baseline at T=10"


def test_unsolved_runs_that_learned_something_report_their_metric():
    cells = cells_of(row(10, "solved"), row(50, "unsolved", metric=0.04))
    assert limitation(cells) == "unsolved from T=50 (mse 0.04 at T=50)"


def test_runs_stopped_by_the_clock_are_out_of_time_never_unsolved():
    cells = cells_of(row(10, "solved"), row(50, "out_of_time", metric=0.16, steps=40))
    assert cells[1].outcome == "out_of_time"
    assert limitation(cells) == "out of time (clock cap) at T=50"
    assert matrix_text(cells[1]) == "⏱ out of time"
    # one clock-stopped seed of three could still have made a majority: undecided
    (undecided,) = cells_of(
        row(50, "solved"), row(50, "out_of_time", seed=1), row(50, "unsolved", seed=2)
    )
    assert undecided.outcome == "out_of_time"
    (decided,) = cells_of(
        row(50, "unsolved"), row(50, "out_of_time", seed=1), row(50, "unsolved", seed=2)
    )
    assert decided.outcome == "unsolved"


def test_divergence_and_failures_are_named_with_their_lengths_and_error_type():
    cells = cells_of(
        row(10, "solved"),
        row(50, "diverged"),
        row(100, "failed", error="MemoryError: too big\ntraceback"),
    )
    assert limitation(cells, task="adding") == (
        "adding: diverged at T=50; failed at T=100 (MemoryError)"
    )


def test_cells_not_run_yet_are_pending():
    (cell,) = cells_of(row(10, "pending"))
    assert cell.outcome == "pending" and matrix_text(cell) == "…"
    assert limitation([cell]) == "not run yet"


def test_matrix_marks_with_seed_counts_and_pending_runs():
    (solved,) = cells_of(row(10, "solved", steps=300), row(10, "solved", seed=1, steps=500))
    assert matrix_text(solved) == "✓ 400 (300-500) 2/2 [0.34-1.00]"
    (partial,) = cells_of(row(10, "solved", steps=300), row(10, "pending", seed=1))
    assert matrix_text(partial) == "✓ 300 …"
    (single,) = cells_of(row(10, "unsolved", metric=0.1666))
    assert matrix_text(single) == "· 0.167"
    (mixed,) = cells_of(row(10, "diverged"), row(10, "failed", seed=1))
    assert mixed.outcome == "diverged"


def test_cost_ratios_are_medians_over_matching_runs():
    mine = [row(10, "solved", time_per_step_s=2.0), row(20, "solved", time_per_step_s=9.0)]
    ref = [row(10, "solved", time_per_step_s=1.0), row(20, "solved", time_per_step_s=3.0)]
    assert ratio(mine, ref, "time_per_step_s") == 2.5
    assert ratio(mine, [], "time_per_step_s") is None


def test_wilson_intervals_match_the_closed_form():
    from math import sqrt

    from gradtrace.study.outcomes import Z_95, wilson_interval

    for k, n in [(0, 1), (1, 1), (2, 3), (3, 3), (5, 10), (0, 5)]:
        p, z = k / n, Z_95
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low, high = wilson_interval(k, n)
        assert abs(low - max(0.0, centre - half)) < 1e-12
        assert abs(high - min(1.0, centre + half)) < 1e-12
    # known values (Newcombe 1998, Table I): 0/10 -> [0, 0.2775]; 5/10 -> [0.2366, 0.7634]
    assert abs(wilson_interval(0, 10)[1] - 0.2775) < 5e-5
    assert all(
        abs(a - b) < 5e-5 for a, b in zip(wilson_interval(5, 10), (0.2366, 0.7634), strict=True)
    )
    assert wilson_interval(0, 0) == (0.0, 1.0)
