"""gru-smaller-datasets: finite training sets of chosen sizes, the same numbers every run."""

from __future__ import annotations

import math

from gradtrace.audit import data_size
from gradtrace.audit.budget import TINY
from gradtrace.audit.claim import VERDICTS
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS


def test_a_finite_training_set_run_is_deterministic():
    first = data_size.held_out_mse("gru", 64, steps=3)
    assert first == data_size.held_out_mse("gru", 64, steps=3) and math.isfinite(first)


def test_the_claim_compares_the_advantage_at_both_sizes():
    finding = CLAIMS["gru-smaller-datasets"].check(Context(TINY))
    assert finding.verdict in VERDICTS and finding.verdict != "untestable here"
    ev = finding.evidence
    assert set(ev["held_out_mse"]) == {f"{c}@{n}" for c in ("gru", "lstm") for n in (64, 4096)}
    for size, value in ev["gru_advantage_over_baseline"].items():
        mse = ev["held_out_mse"]
        assert value == (mse[f"lstm@{size}"] - mse[f"gru@{size}"]) / data_size.BASELINE


def test_only_two_claims_remain_untestable():
    untestable = [c.id for c in CLAIMS.values() if c.theme == "untestable"]
    assert sorted(untestable) == ["history-and-citations", "translation-system-2016"]
