"""The curse-of-memory claim: exact gradients through time beside the exploding sensitivity."""

from __future__ import annotations

import pytest

from gradtrace.audit import memory_claims
from gradtrace.audit.budget import TINY
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS
from gradtrace.simulate.memory import finite_sum


@pytest.fixture(scope="module")
def finding():
    return CLAIMS["vanishing-explains-long-range-failure"].check(Context(TINY))


def test_the_texts_vanishing_only_story_is_nuanced_by_the_curse_of_memory(finding):
    rows = {r["lambda"]: r for r in finding.evidence["rows"]}
    assert finding.verdict == "nuanced"
    assert "curse of memory" in finding.summary
    # vanishing where the memory is short, kept where it is long; no factor above 1
    assert rows[0.5]["dhT_dh1"] == pytest.approx(0.5**999, rel=1e-12)
    assert rows[0.999]["dhT_dh1"] == pytest.approx(0.999**999, rel=1e-12)
    assert all(r["dhT_dht_largest"] == pytest.approx(1.0, abs=1e-15) for r in rows.values())
    # yet the sensitivity to lambda grows by more than seven orders of magnitude
    assert finding.evidence["sensitivity_growth"] > 1e7


def test_sensitivities_are_the_exact_sum_and_autograd_agrees(finding):
    for row in finding.evidence["rows"]:
        assert row["sensitivity_exact"] == pytest.approx(
            finite_sum(row["lambda"], memory_claims.STEPS), rel=1e-12
        )
        low, high = row["sensitivity_interval_99"]
        assert low <= row["sensitivity_exact"] <= high  # seeded: holds for seed 0
        assert row["sensitivity_exact"] <= row["sensitivity_limit"] * (1 + 1e-12)


def test_through_time_gradient_is_lambda_to_the_lag_by_autograd():
    measured = memory_claims.through_time(0.9, 50)
    assert measured["max_abs_diff_vs_lambda_power"] < 1e-15
    assert measured["first_step"] == pytest.approx(0.9**49, rel=1e-12)
