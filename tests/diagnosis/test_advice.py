"""recommend(): every rule fires on its trigger and names the number; a healthy model gets none."""

from __future__ import annotations

import numpy as np
import pytest

from gradtrace.diagnosis.advice import Recommendation, num, recommend
from gradtrace.diagnosis.health import Health, LayerHealth
from gradtrace.diagnosis.spectrum import MatrixSpectrum
from gradtrace.tracing import GradientProfile, LayerProfile

T = 100


def _profile(gamma: float, *, kind: str = "rnn", steps: int = T) -> GradientProfile:
    """A one-layer profile whose gradient shrinks (or grows) by ``gamma`` per step back."""
    g = gamma ** np.arange(steps, dtype=np.float64)[::-1]  # g_t, time order: g_T = 1
    layer = LayerProfile(name=f"{kind}.l0", kind=kind, layer=0, direction=0, g=g)
    return GradientProfile(layers=[layer])


def _rnn_spectrum(radius: float, singular: float, activation: str = "tanh") -> MatrixSpectrum:
    return MatrixSpectrum("rnn.l0", "rnn", 0, "forward", "h", activation, radius, singular)


def _health(**fields) -> Health:
    layer = LayerHealth(
        name="x.l0",
        kind=fields.pop("kind", "rnn"),
        layer=0,
        direction="forward",
        activation=fields.pop("activation", "tanh"),
        examples=8,
        **fields,
    )
    return Health(layers=[layer])


def _codes(found: list[Recommendation]) -> list[str]:
    return [r.code for r in found]


def test_a_healthy_profile_with_a_unit_spectrum_and_healthy_units_gets_no_advice():
    found = recommend(
        profile=_profile(0.99),
        spectra=[_rnn_spectrum(1.0, 1.0)],
        health=_health(saturated=0.01),
    )
    assert found == []


def test_nothing_to_go_on_gives_no_advice():
    assert recommend() == []


def test_vanishing_rnn_gets_gated_cell_and_attention_advice_naming_the_horizon():
    found = recommend(profile=_profile(0.8))  # 0.8^k < 1e-3 first at k = 31
    assert _codes(found) == ["gated-cell", "attention-readout"]
    assert found[0].finding == "horizon 31 steps < T = 100"
    assert found[0].value == 31


def test_vanishing_lstm_gets_no_gated_cell_advice():
    assert "gated-cell" not in _codes(recommend(profile=_profile(0.8, kind="lstm")))


def test_exploding_profile_gets_clipping_with_the_growth_it_saw():
    found = recommend(profile=_profile(1.2))
    assert _codes(found) == ["clip-gradients"]
    assert "max_norm=1.0" in found[0].advice
    assert found[0].value == pytest.approx(1.2**99)
    assert f"grows {num(1.2**99)}x" in found[0].finding and "1/eps = 1000" in found[0].finding


def test_non_finite_profile_gets_clipping_and_a_nan_check():
    profile = _profile(0.9)
    profile.layers[0].g[3] = np.nan
    found = recommend(profile=profile)
    assert found[0].code == "clip-gradients" and "nan" in found[0].finding


def test_exploding_rnn_with_a_wide_spectrum_names_radius_against_one_over_gamma_phi():
    found = recommend(profile=_profile(1.2), spectra=[_rnn_spectrum(3.1, 3.5)])
    rule = next(r for r in found if r.code == "spectral-radius")
    assert rule.finding.startswith("spectral radius 3.1 > 1/gamma_phi = 1")
    assert rule.value == 3.1


def test_sigmoid_rnn_uses_four_as_its_spectral_limit():
    wide = recommend(profile=_profile(1.2), spectra=[_rnn_spectrum(3.1, 3.5, "sigmoid")])
    assert "spectral-radius" not in _codes(wide)  # 3.1 < 1/0.25 = 4
    narrow = recommend(profile=_profile(0.8), spectra=[_rnn_spectrum(3.1, 3.5, "sigmoid")])
    rule = next(r for r in narrow if r.code == "orthogonal-init")
    assert "< 1/gamma_phi = 4" in rule.finding


def test_vanishing_rnn_with_small_singular_value_gets_orthogonal_init_as_a_certainty():
    found = recommend(profile=_profile(0.8), spectra=[_rnn_spectrum(0.5, 0.62)])
    rule = next(r for r in found if r.code == "orthogonal-init")
    assert rule.finding.startswith("largest singular value 0.62 < 1/gamma_phi = 1")
    assert rule.value == 0.62


def test_vanishing_rnn_with_small_radius_but_large_singular_value_names_the_radius():
    found = recommend(profile=_profile(0.8), spectra=[_rnn_spectrum(0.58, 1.14)])
    rule = next(r for r in found if r.code == "orthogonal-init")
    assert rule.finding.startswith("spectral radius 0.58 < 1/gamma_phi = 1")


def test_spectral_rules_stay_quiet_when_the_profile_disagrees():
    assert recommend(profile=_profile(0.99), spectra=[_rnn_spectrum(0.5, 0.6)]) == []
    assert recommend(profile=_profile(0.8, kind="lstm"), spectra=[_rnn_spectrum(3, 3)])[0].code == (
        "attention-readout"
    )


def test_low_forget_gate_on_a_vanishing_lstm_gets_forget_bias_advice():
    health = _health(kind="lstm", activation=None, gate_means={"forget": 0.5}, forget_timescale=2.0)
    found = recommend(profile=_profile(0.8, kind="lstm"), health=health)
    rule = next(r for r in found if r.code == "forget-bias")
    assert rule.finding.startswith("forget gate mean 0.5 keeps the cell state about 2 steps")
    assert "< T = 100" in rule.finding and "forget_bias=1.0" in rule.advice
    assert rule.value == 2.0


def test_a_forget_gate_already_biased_is_sent_to_chrono_init():
    health = _health(
        kind="lstm", activation=None, gate_means={"forget": 0.73}, forget_timescale=3.7
    )
    rule = next(
        r
        for r in recommend(profile=_profile(0.8, kind="lstm"), health=health)
        if r.code == "forget-bias"
    )
    assert "chrono" in rule.advice and "forget_bias=1.0" not in rule.advice


def test_forget_bias_advice_needs_a_vanishing_profile():
    health = _health(kind="lstm", activation=None, gate_means={"forget": 0.5}, forget_timescale=2.0)
    assert recommend(profile=_profile(0.999, kind="lstm"), health=health) == []


def test_dead_relu_units_get_leaky_relu_advice_with_their_share():
    found = recommend(health=_health(activation="relu", dead=0.35, dead_units=22))
    assert _codes(found) == ["leaky-relu"]
    assert found[0].finding.startswith("35% of ReLU units never active (22 units")
    assert recommend(health=_health(activation="relu", dead=0.05, dead_units=3)) == []


def test_saturation_gets_layer_norm_advice_with_its_share():
    found = recommend(health=_health(saturated=0.43))
    assert _codes(found) == ["layer-norm"] and found[0].finding.startswith("43% of unit-steps")
    assert recommend(health=_health(saturated=0.2)) == []


def test_subnormal_gradients_get_flushing_advice():
    health = _health(saturated=0.0)
    health.subnormal_grads = 0.12
    found = recommend(health=health)
    assert _codes(found) == ["flush-subnormals"] and found[0].finding.startswith("12% of")


def test_truncated_bptt_is_advised_only_on_long_sequences_with_a_short_horizon():
    long = recommend(profile=_profile(0.8, steps=1000))
    rule = next(r for r in long if r.code == "truncated-bptt")
    assert rule.finding == "no measurable gradient beyond lag 31 of T = 1000"
    assert rule.value == 62 and "tbptt=62" in rule.advice
    assert "truncated-bptt" not in _codes(recommend(profile=_profile(0.8, steps=100)))
    assert "truncated-bptt" not in _codes(recommend(profile=_profile(0.97, steps=300)))


def test_recommend_accepts_a_profile_dict_and_recommendations_round_trip():
    found = recommend(profile=_profile(0.8).to_dict())
    assert _codes(found) == ["gated-cell", "attention-readout"]
    assert Recommendation.from_dict(found[0].to_dict()) == found[0]


def test_numbers_are_printed_in_three_significant_digits():
    assert [num(v) for v in (0.62, 3.1, 4.2e5, 0.026, 1e-4, 100.0)] == [
        "0.62",
        "3.1",
        "4.2e+05",
        "0.026",
        "0.0001",
        "100",
    ]
