"""Clipping claims: the refutation's numbers, the direction cosines and the training verdicts."""

from __future__ import annotations

import pytest

from gradtrace.audit.budget import TINY
from gradtrace.audit.clipping import judge_clipping
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS


@pytest.fixture
def ctx() -> Context:
    return Context(TINY)


def outcomes(*statuses: str) -> list[dict]:
    return [{"status": s} for s in statuses]


def test_clipping_never_enlarges_a_gradient_so_the_claim_is_refuted(ctx):
    finding = CLAIMS["clipping-prevents-small-gradients"].check(ctx)
    ev = finding.evidence
    assert finding.verdict == "refuted"
    assert ev["max_norm_ratio_after_over_before"] <= 1.0
    for case in ev["cases"]:
        assert case["norm_after"] <= case["norm_before"] * (1 + 1e-12)
        assert case["max_per_tensor_ratio"] <= 1.0 + 1e-12
    tiny = ev["tiny_gradient"]
    assert tiny["norm_before"] == pytest.approx(1e-8) and tiny["norm_after"] == tiny["norm_before"]
    assert ev["vanishing_model_profile"]["verdict"] == "vanishing"


def test_norm_clipping_keeps_the_direction_and_value_clipping_turns_it(ctx):
    finding = CLAIMS["norm-clipping-keeps-direction"].check(ctx)
    ev = finding.evidence
    assert finding.verdict == "confirmed"
    assert ev["norm_clip"]["cosine"] == pytest.approx(1.0, abs=1e-12)
    assert ev["value_clip"]["cosine"] < 0.999
    assert 0 < ev["value_clip"]["entries_clipped"] < ev["value_clip"]["entries"]


def test_an_exploding_gradient_is_cut_to_the_threshold(ctx):
    finding = CLAIMS["clipping-bounds-exploding-updates"].check(ctx)
    ev = finding.evidence
    assert ev["norm_before"] > 1.0
    assert ev["norm_after"] == pytest.approx(1.0, rel=1e-5)
    assert finding.verdict == "confirmed"


@pytest.mark.parametrize(
    ("clipped", "unclipped", "control", "verdict"),
    [
        (("unsolved",), ("unsolved",), ("solved",), "confirmed"),
        (("unsolved",), ("unsolved",), ("unsolved",), "not tested at this budget"),
        (("solved",), ("unsolved",), ("solved",), "nuanced"),
        (("solved",), ("solved",), ("solved",), "not tested at this budget"),
        ((), ("unsolved",), ("solved",), "not tested at this budget"),
    ],
)
def test_clipping_verdict_follows_the_runs(clipped, unclipped, control, verdict):
    got, summary = judge_clipping(
        outcomes(*clipped), outcomes(*unclipped), outcomes(*control), seq_len=100
    )
    assert got == verdict
    assert "\n" not in summary


def test_clipping_rescales_the_whole_gradient_by_one_factor(ctx):
    finding = CLAIMS["clipping-does-not-fix-vanishing"].check(ctx)
    one_factor = finding.evidence["clipping_is_one_factor"]
    assert 0 < one_factor["factor"] < 1
    assert one_factor["max_relative_deviation"] < 1e-9
    assert finding.verdict == "not tested at this budget"  # no training runs in this context
