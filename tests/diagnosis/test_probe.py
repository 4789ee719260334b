"""probe(), compare() and plot_probes(): specs in, curves and diagnoses out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gradtrace.bounds import WEB
from gradtrace.diagnosis import ProbeResult, ProbeSpec, compare, decay_sentence, plot_probes, probe
from gradtrace.diagnosis.dynamics import lag_grid
from gradtrace.diagnosis.probing import FLOAT32_SAFE, float32_exact
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec


def _spec(**fields) -> ProbeSpec:
    fields.setdefault("model", ModelSpec(hidden_size=16))
    return ProbeSpec(**{"seq_len": 40, "batch_size": 4, **fields})


def test_probe_spec_validates_each_field_in_one_line():
    with pytest.raises(InvalidValue, match=r"^seq_len: 1 is not allowed"):
        ProbeSpec(seq_len=1)
    with pytest.raises(InvalidValue, match=r"^dtype: 'float16' is not allowed"):
        ProbeSpec(dtype="float16")
    with pytest.raises(InvalidValue, match=r"^model.hidden_size: 0 is not allowed"):
        ProbeSpec(model={"hidden_size": 0})
    with pytest.raises(InvalidValue, match=r"^colour: .* unknown key"):
        ProbeSpec(colour="red")


def test_probe_spec_checks_the_web_bounds_on_request():
    spec = ProbeSpec(model=ModelSpec(hidden_size=1024))
    spec.check_bounds(type(WEB)())  # the library bounds allow it
    with pytest.raises(InvalidValue, match=r"^model.hidden_size: 1024 is not allowed; at most 512"):
        spec.check_bounds(WEB)


def test_probe_reports_the_first_layer_curve_on_the_lag_grid():
    result = probe(_spec())
    layer = result.diagnosis.profile.layer(result.layer)
    assert result.layer == "layers.0.l0" and result.lags == lag_grid(40)
    assert result.relative == [pytest.approx(layer.relative[k]) for k in result.lags]
    assert result.g[0] == pytest.approx(layer.g[-2])  # lag 1 is step T - 1
    assert result.gamma_hat == pytest.approx(layer.decay_factor)
    assert result.horizon == layer.horizon(1e-3)
    assert result.label == "tanh RNN H=16"


def test_probe_is_deterministic_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first, second = probe(_spec(seed=5)), probe(_spec(seed=5))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert first.g == second.g
    assert probe(_spec(seed=6)).g != first.g


def test_probe_accepts_a_dict_and_float32():
    result = probe({"model": {"cell": "gru", "hidden_size": 8}, "seq_len": 20, "dtype": "float32"})
    assert result.spec.dtype == "float32" and result.verdict in ("healthy", "vanishing")


def test_probe_draws_its_batch_from_a_task_when_named():
    result = probe(_spec(task="adding", model=ModelSpec(cell="lstm", hidden_size=8)))
    assert result.spec.task == "adding"
    assert result.diagnosis.seq_len == 40 and result.diagnosis.loss > 0


def test_compare_shows_orthogonal_and_gated_cells_keep_gradient_longer_than_tanh_default():
    specs = [
        ProbeSpec(model=ModelSpec(), label="tanh default"),
        ProbeSpec(model=ModelSpec(init="orthogonal"), label="tanh orthogonal"),
        ProbeSpec(model=ModelSpec(cell="lstm", forget_bias=1.0), label="lstm fb 1"),
    ]
    default, orthogonal, lstm = compare(specs)
    assert default.verdict == "vanishing" and default.horizon < 20
    assert lstm.horizon is None or lstm.horizon > default.horizon
    assert orthogonal.horizon is None or orthogonal.horizon > lstm.horizon
    assert default.gamma_hat < lstm.gamma_hat < orthogonal.gamma_hat


def test_compare_validates_every_spec_before_any_work():
    with pytest.raises(InvalidValue, match=r"^seq_len"):
        compare([_spec(), {"seq_len": 0}])
    with pytest.raises(InvalidValue, match=r"^specs"):
        compare([])


def test_a_probe_result_is_strict_json_and_comes_back_from_a_dict():
    result = probe(_spec(model=ModelSpec(cell="lstm", hidden_size=8)))
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {"spec", "label", "lags", "g", "relative", "gamma_hat", "horizon", "verdict"} <= set(
        data
    )
    back = ProbeResult.from_dict(data)
    assert back.spec == result.spec and back.g == result.g and back.horizon == result.horizon
    assert back.curve().tolist() == pytest.approx(result.curve().tolist())


def test_plot_probes_writes_one_png_for_several_results(tmp_path):
    results = compare([_spec(), _spec(model=ModelSpec(cell="gru", hidden_size=16))])
    path = plot_probes(results, tmp_path / "sub" / "probe.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_decay_sentence_says_what_is_kept_per_step_and_after_fifty():
    assert decay_sentence(0.93) == (
        "keeps 0.93 of the signal per step; after 50 steps 0.0266 remains"
    )
    assert decay_sentence(float("nan")).startswith("no decay factor")


def test_auto_precision_traces_in_float32_when_the_numbers_fit_float64_everywhere_else():
    spec = _spec(model=ModelSpec(cell="lstm", hidden_size=16), dtype="auto")
    auto, exact = probe(spec), probe(spec.model_copy(update={"dtype": "float64"}))
    assert auto.spec.dtype == "auto" and auto.dtype == "float32" and exact.dtype == "float64"
    pairs = zip(auto.diagnosis.profile.layers, exact.diagnosis.profile.layers, strict=True)
    for fast, slow in pairs:
        # float32 rounding over T = 40 steps of backward: a few units in the 6th digit at most
        np.testing.assert_allclose(fast.g, slow.g, rtol=2e-5, atol=0)
        np.testing.assert_allclose(fast.g_cell, slow.g_cell, rtol=2e-5, atol=0)
    # the same float32 weights and inputs, replayed in float64: identical, not merely close
    assert [d.exponents for d in auto.diagnosis.lyapunov] == [
        d.exponents for d in exact.diagnosis.lyapunov
    ]
    assert [s.eigenvalues for s in auto.diagnosis.spectra] == [
        s.eigenvalues for s in exact.diagnosis.spectra
    ]
    assert auto.diagnosis.health.layers == exact.diagnosis.health.layers
    assert ProbeResult.from_dict(auto.to_dict()).dtype == "float32"


def test_auto_precision_keeps_a_rescaled_vanishing_profile_in_float32():
    spec = _spec(seq_len=200, dtype="auto")  # tanh RNN, default init: g_t falls below 1e-50
    auto, exact = probe(spec), probe(spec.model_copy(update={"dtype": "float64"}))
    assert min(exact.diagnosis.profile.layers[0].g) < 1e-50 < FLOAT32_SAFE
    # below float32's range, yet exact: the float32 backward carried it by powers of two
    assert auto.dtype == "float32" and float32_exact(auto.diagnosis, rescaled=True)
    assert not float32_exact(auto.diagnosis)  # without rescaling it would not have held
    fast, slow = auto.diagnosis.profile.layers[0].g, exact.diagnosis.profile.layers[0].g
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=0)  # float32 rounding over 200 steps
    assert auto.horizon == exact.horizon


def test_auto_precision_keeps_float64_when_float32_would_not_hold_the_numbers():
    spec = _spec(seq_len=200, dtype="auto")
    traced = probe(spec.model_copy(update={"dtype": "float32"})).diagnosis
    zero = traced.profile.layers[0]
    zero = type(zero)(
        zero.name, zero.kind, 0, 0, np.where(np.arange(zero.g.size) == 0, 0.0, zero.g)
    )
    traced.profile.layers[0] = zero  # a norm that is exactly zero: underflow, not a decay
    assert not float32_exact(traced, rescaled=True)
    huge = type(zero)(zero.name, zero.kind, 0, 0, np.full(zero.g.size, 1e30))
    traced.profile.layers[0] = huge
    assert not float32_exact(traced, rescaled=True)
    lru = probe(_spec(model=ModelSpec(cell="lru", hidden_size=4), seq_len=30, dtype="auto"))
    assert lru.dtype == "float64"  # the LRU's lambdas are computed in the model's dtype
