"""Theory claims run in full: activation slopes, the decay table cell by cell, scalar examples."""

from __future__ import annotations

import pytest

from gradtrace.audit import decay_claims
from gradtrace.audit.budget import TINY
from gradtrace.audit.context import Context
from gradtrace.audit.registry import CLAIMS


@pytest.fixture
def ctx() -> Context:
    return Context(TINY)


def check(claim_id: str, ctx: Context):
    return CLAIMS[claim_id].check(ctx)


def test_sigmoid_slope_peaks_at_a_quarter_at_zero(ctx):
    finding = check("sigmoid-derivative-peak", ctx)
    ev = finding.evidence
    assert finding.verdict == "confirmed"
    assert ev["max_slope"] == pytest.approx(0.25, abs=1e-15) and ev["argmax"] == 0.0
    assert ev["autograd_vs_closed_form_max_abs_diff"] < 1e-15
    assert ev["slope_at"]["2"] == pytest.approx(0.104993585, rel=1e-8)  # s(2)(1 - s(2))


def test_tanh_slope_peaks_at_one_and_is_tiny_in_saturation(ctx):
    finding = check("tanh-derivative-peak", ctx)
    ev = finding.evidence
    assert finding.verdict == "confirmed"
    assert ev["max_slope"] == 1.0 and ev["argmax"] == 0.0 and ev["below_one_away_from_0"]
    assert ev["slope_at"]["5"] == pytest.approx(1.8158e-4, rel=1e-3)  # 1 - tanh(5)^2


def test_average_tanh_slope_is_below_0_6_only_for_wide_pre_activations(ctx):
    finding = check("activation-slopes-typically-below-0.6", ctx)
    ev = finding.evidence
    sigma = ev["sigma_where_mean_slope_is_0.6"]
    assert 0.9 < sigma < 1.2
    assert ev["mean_tanh_slope_by_sigma"]["0.5"] > 0.6 > ev["mean_tanh_slope_by_sigma"]["2.0"]
    measured = ev["measured_mean_tanh_slope"]
    assert finding.verdict == ("confirmed" if measured["default"] < 0.6 else "nuanced")
    assert measured["normal"] < measured["default"]  # N(0, 1) weights saturate the units


@pytest.mark.parametrize(
    ("printed", "exact", "relation"),
    [
        ("0.348", 0.9**10, "truncated"),  # 0.34868 rounds to 0.349
        ("0.028", 0.7**10, "rounded"),
        ("0.0008", 0.7**20, "rounded"),  # 0.000798 at one significant digit
        ("1.7e-8", 0.7**50, "truncated"),  # 1.798e-8
        ("0.0009", 0.5**10, "truncated"),  # 0.000977 rounds to 0.001
        ("0.35", 0.9**10, "rounded"),
        ("0.5", 0.9**10, "off"),
    ],
)
def test_a_printed_value_is_classified_against_the_exact_one(printed, exact, relation):
    assert decay_claims.compare_printed(printed, exact)["relation"] == relation


def test_decay_table_reports_every_cell_with_its_exact_value(ctx):
    finding = check("decay-table", ctx)
    cells = finding.evidence["cells"]
    assert len(cells) == 12
    for cell in cells:
        assert cell["exact"] == pytest.approx(cell["gamma"] ** cell["steps"], rel=1e-15)
        assert cell["relation"] in ("rounded", "truncated")
    truncated = {(c["gamma"], c["steps"]) for c in cells if c["relation"] == "truncated"}
    assert truncated == {
        (0.9, 10),
        (0.9, 20),
        (0.7, 50),
        (0.5, 10),
        (0.5, 50),
        (0.3, 20),
        (0.3, 50),
    }
    assert finding.verdict == "nuanced" and "0.348" in finding.summary


def test_scalar_example_has_a_truncated_hundred_step_value_and_an_empty_row(ctx):
    finding = check("scalar-decay-example", ctx)
    by_steps = {(c["gamma"], c["steps"]): c for c in finding.evidence["cells"]}
    assert by_steps[(0.9, 100)]["relation"] == "truncated"  # 2.656e-5 printed 0.000026
    assert by_steps[(0.9, 10)]["relation"] == "rounded"
    assert by_steps[(0.5, 20)]["printed"] is None
    assert finding.verdict == "nuanced"


def test_scalar_factors_decay_hold_or_grow(ctx):
    finding = check("scalar-factor-regimes", ctx)
    rows = finding.evidence["factors"]
    assert finding.verdict == "confirmed"
    assert rows["0.9"]["steps_until_1e-3"] == 66 and rows["1.0"]["steps_until_1e-3"] is None
    assert rows["1.1"]["after_100"] == pytest.approx(1.1**100)


def test_layer_formula_matches_autograd_through_a_scalar_chain(ctx):
    finding = check("layer-simulator-formula", ctx)
    assert finding.verdict == "confirmed"
    assert finding.evidence["max_relative_difference"] < 1e-12
    first = next(r for r in finding.evidence["rows"] if r["w"] == 0.5 and r["layer"] == 1)
    assert first["autograd"] == pytest.approx(0.5**4)
