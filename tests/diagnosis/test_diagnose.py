"""diagnose() end to end: the textbook cases, any model shape, JSON, and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis import Diagnosis, default_loss, diagnose
from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models import ModelSpec, build_model

F64 = torch.float64


def _model(**fields) -> nn.Module:
    torch.manual_seed(0)
    return build_model(ModelSpec(**fields)).double()


def _noise(batch: int, steps: int, features: int = 1) -> torch.Tensor:
    return torch.randn(
        batch, steps, features, generator=torch.Generator().manual_seed(1), dtype=F64
    )


def test_tanh_rnn_with_standard_normal_weights_at_h128_is_saturated_yet_exploding():
    # N(0, 1) entries give W_hh a gain of about sqrt(128) = 11: most units saturate, but the
    # few that do not carry gains far above one, so the map is chaotic and gradients explode.
    model = _model(hidden_size=128, init="normal")
    found = diagnose(model, _noise(8, 60))
    assert found.health.layers[0].saturated > 0.5
    assert found.verdict == "exploding"
    assert found.lyapunov[0].top_exponent > 0.3
    assert found.spectra[0].spectral_radius > 8
    codes = [r.code for r in found.recommendations]
    assert codes[:2] == ["clip-gradients", "spectral-radius"] and "layer-norm" in codes


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"init": "orthogonal"},
        {"cell": "lstm", "forget_bias": 1.0},
        {"hidden_size": 128, "init": "normal"},
    ],
)
def test_the_traced_decay_rate_matches_the_top_lyapunov_exponent(fields):
    found = diagnose(_model(**fields), _noise(8, 100))
    gamma = found.profile.layers[0].decay_factor
    assert math.log(gamma) == pytest.approx(found.lyapunov[0].top_exponent, abs=0.1)


def test_lstm_with_forget_bias_one_keeps_a_longer_horizon_than_with_minus_three():
    x = _noise(16, 100)
    kept = diagnose(_model(cell="lstm", forget_bias=1.0), x)
    forgot = diagnose(_model(cell="lstm", forget_bias=-3.0), x)
    short = forgot.profile.layers[0].horizon(1e-3)
    long = kept.profile.layers[0].horizon(1e-3)
    assert short is not None and (long is None or long > 2 * short)
    assert kept.health.layers[0].gate_means["forget"] > 0.7
    assert forgot.health.layers[0].gate_means["forget"] < 0.1
    assert kept.lyapunov[0].top_exponent > forgot.lyapunov[0].top_exponent


def test_an_orthogonal_tanh_rnn_at_moderate_length_is_healthy_and_gets_no_advice():
    found = diagnose(_model(init="orthogonal"), _noise(16, 60))
    assert found.verdict == "healthy"
    assert found.recommendations == []
    assert found.spectra[0].spectral_radius == pytest.approx(1.0, abs=1e-6)


def test_traced_gradient_never_exceeds_the_jacobian_product_norm():
    model = _model(hidden_size=16)
    found = diagnose(model, _noise(1, 50))  # one example: g_t is that example's norm
    r = found.profile.layers[0].relative
    dyn = found.lyapunov[0]
    for lag, norm in zip(dyn.lags, dyn.product_norms, strict=True):
        assert r[lag] <= norm * (1 + 1e-9)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_layer_of_a_stacked_model_is_diagnosed(cell):
    found = diagnose(_model(cell=cell, num_layers=2, hidden_size=8), _noise(4, 20))
    names = ["layers.0", "layers.1"]
    assert [d.name for d in found.lyapunov] == [h.name for h in found.health.layers]
    assert [d.name.rsplit(".", 1)[0] for d in found.lyapunov] == names
    assert found.seq_len == 20 and found.verdict in ("healthy", "vanishing", "exploding")


def test_a_loop_model_with_layer_norm_is_diagnosed_with_autograd_jacobians():
    found = diagnose(_model(cell="gru", layer_norm=True, hidden_size=8), _noise(4, 20))
    assert found.lyapunov[0].method == "autograd"
    assert found.health.layers[0].gate_means["update"] > 0


def test_a_user_module_with_a_time_major_lstm_and_its_own_loss_is_diagnosed():
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 6)
            self.head = nn.Linear(6, 2)

        def forward(self, x):  # (T, B, 3) -> (T, B, 2)
            return self.head(self.lstm(x)[0])

    torch.manual_seed(0)
    model = Tagger().double()
    x = torch.randn(15, 4, 3, dtype=F64)
    targets = torch.randn(15, 4, 2, dtype=F64)
    found = diagnose(model, x, loss_fn=nn.functional.mse_loss, targets=targets)
    assert [d.name for d in found.lyapunov] == ["lstm.l0"]
    assert found.lyapunov[0].state_size == 12
    with torch.no_grad():
        expected = float(nn.functional.mse_loss(model(x), targets))
    assert found.loss == pytest.approx(expected)


def test_diagnose_leaves_the_callers_gradients_untouched():
    model = _model(hidden_size=8)
    marker = [torch.full_like(p, 7.0) for p in model.parameters()]
    for p, m in zip(model.parameters(), marker, strict=True):
        p.grad = m
    diagnose(model, _noise(2, 10))
    assert all(p.grad is m for p, m in zip(model.parameters(), marker, strict=True))


def test_a_diagnosis_is_strict_json_and_comes_back_from_a_dict():
    found = diagnose(_model(cell="lstm", hidden_size=8), _noise(4, 30))
    text = json.dumps(found.to_dict(), allow_nan=False)
    back = Diagnosis.from_dict(json.loads(text))
    assert back.verdict == found.verdict and back.seq_len == 30
    assert back.lyapunov == found.lyapunov and back.spectra[0] == found.spectra[0]
    assert back.health == found.health and back.recommendations == found.recommendations
    assert np.allclose(back.profile.layers[0].g, found.profile.layers[0].g)
    assert "verdict" in back.summary() and set(found.timings) == {
        "trace",
        "dynamics",
        "sensitivity",
        "rest",
    }


def test_default_loss_sums_the_last_step_and_averages_over_the_batch():
    out = torch.arange(24.0).reshape(2, 3, 4)  # (B, T, O)
    model = nn.Linear(1, 1)
    assert float(default_loss(out, model)) == pytest.approx(float(out[:, -1].sum()) / 2)
    assert float(default_loss(out[:, 0], model)) == pytest.approx(float(out[:, 0].sum()) / 2)
    time_major = nn.LSTM(1, 4)  # (T, B, O): the last step is out[-1]
    assert float(default_loss(out, time_major)) == pytest.approx(float(out[-1].sum()) / 3)
    assert float(default_loss((out, None), model)) == float(default_loss(out, model))


def test_bad_input_is_refused_with_one_line_naming_it():
    model = _model(hidden_size=4)
    with pytest.raises(InvalidValue, match=r"^model: "):
        diagnose("not a model", _noise(1, 5))
    with pytest.raises(UnsupportedModel, match="no recurrent step"):
        diagnose(nn.Linear(1, 1), _noise(1, 5))
    with pytest.raises(InvalidValue, match=r"^forward: "):
        diagnose(model, _noise(1, 5), forward="model(x)")
    with pytest.raises(InvalidValue, match=r"^eps: 2"):
        diagnose(model, _noise(1, 5), eps=2)
    with pytest.raises(InvalidValue, match=r"^k: 0"):
        diagnose(model, _noise(1, 5), k=0)
    with pytest.raises(InvalidValue, match=r"^loss_fn: "):
        diagnose(model, _noise(2, 5), loss_fn=lambda out, batch: out)


def test_non_finite_weights_give_a_non_finite_verdict_not_a_crash():
    model = _model(hidden_size=4)
    with torch.no_grad():
        model.layers[0].weight_hh_l0[0, 0] = math.inf
    found = diagnose(model, _noise(2, 8))
    assert found.verdict == "non-finite"
    assert found.recommendations[0].code == "clip-gradients"
    json.dumps(found.to_dict(), allow_nan=False)


def test_a_reverse_direction_is_measured_from_its_final_state_unless_the_loss_skips_it():
    class Bidirectional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(2, 5, bidirectional=True, batch_first=True)
            self.head = nn.Linear(10, 1)

        def forward(self, x):
            return self.head(self.gru(x)[0])

    torch.manual_seed(0)
    model, x = Bidirectional().double(), _noise(3, 20, 2)
    found = diagnose(model, x)  # default loss: both directions' final states
    assert np.all(np.isfinite(found.profile.layer("gru.l0.reverse").relative))

    def last_output(out, batch):
        return out[:, -1].sum()

    found = diagnose(model, x, loss_fn=last_output, signal=False)
    reverse = found.profile.layer("gru.l0.reverse")
    assert not np.all(np.isfinite(reverse.relative))  # no gradient at its reference step
    assert found.verdict == found.profile.layer("gru.l0").verdict(1e-3) != "non-finite"
    assert [d.name for d in found.lyapunov] == ["gru.l0", "gru.l0.reverse"]


def test_with_a_loss_fn_the_summary_shows_the_profile_the_verdict_rests_on_first():
    torch.manual_seed(0)
    rnn = nn.RNN(3, 16, batch_first=True)
    found = diagnose(rnn, torch.randn(4, 60, 3), loss_fn=lambda out, b: out[0].pow(2).sum())
    late, given = found.signal_profile.layer("rnn.l0"), found.profile.layer("rnn.l0")
    horizon = late.horizon(found.eps)
    assert found.judged_profile is found.signal_profile and given.horizon(found.eps) is None
    assert horizon is not None and found.verdict == "vanishing"
    text = found.summary().splitlines()
    first = next(i for i, line in enumerate(text) if line.startswith("  rnn.l0: gamma_hat"))
    assert f"horizon {horizon}, vanishing" in text[first]
    assert "for comparison" in text[first + 1] and "horizon beyond T, healthy" in text[first + 2]
    assert any(f"horizon {horizon} steps" in r.finding for r in found.recommendations)
    html = found._repr_html_()
    assert "one late loss term, as the verdict" in html
    assert diagnose(rnn, torch.randn(4, 60, 3)).judged_profile.names == ["rnn.l0"]


def test_a_frozen_model_or_no_grad_mode_is_diagnosed_as_the_trainable_one_and_left_frozen():
    torch.manual_seed(0)
    lstm, x = nn.LSTM(3, 8), torch.randn(12, 2, 3)
    trainable = diagnose(lstm, x)
    for p in lstm.parameters():
        p.requires_grad_(False)
    frozen = diagnose(lstm, x)
    with torch.no_grad():
        quiet = diagnose(lstm, x)
    want = np.asarray(trainable.profile.layer("lstm.l0").g)
    for found in (frozen, quiet):
        np.testing.assert_array_equal(np.asarray(found.profile.layer("lstm.l0").g), want)
        assert found.lyapunov and found.spectra
    assert all(not p.requires_grad and p.grad is None for p in lstm.parameters())
    with torch.no_grad():
        diagnose(lstm, x)
        assert not torch.is_grad_enabled()


def test_a_loss_that_needs_no_gradient_is_one_line_naming_the_model():
    weights = torch.randn(8, 8)

    def forward(model, batch):
        h = torch.zeros(2, 8)
        for t in range(batch.shape[0]):
            h = gradtrace.mark(torch.tanh(batch[t] @ torch.ones(3, 8) + h @ weights), "rnn")
        return h

    with pytest.raises(InvalidValue) as error:
        diagnose(nn.Module(), torch.randn(6, 2, 3), forward=forward, loss_fn=lambda o, b: o.sum())
    assert str(error.value).startswith("model: 'a loss that requires no gradient'")
    assert "\n" not in str(error.value)


def test_parameter_grads_false_traces_the_states_only_with_every_shown_number_the_same():
    torch.manual_seed(0)
    lstm, x = nn.LSTM(3, 8, num_layers=2), torch.randn(15, 2, 3)
    for p in lstm.parameters():
        p.grad = torch.full_like(p, 7.0)
    full, states = diagnose(lstm, x), diagnose(lstm, x, parameter_grads=False)
    a, b = full.to_dict(), states.to_dict()
    for key in ("profile", "spectra", "lyapunov", "sensitivity", "verdict", "recommendations"):
        assert a[key] == b[key], key
    assert full.health.subnormal_grads == 0.0 and states.health.subnormal_grads is None
    assert "health: subnormal parameter gradients" in states.not_computed
    assert all(p.requires_grad and bool((p.grad == 7.0).all()) for p in lstm.parameters())
    assert not x.requires_grad  # the batch given is not touched: a copy carried the gradient
    with pytest.raises(InvalidValue, match=r"^parameter_grads: 'no' is not allowed"):
        diagnose(lstm, x, parameter_grads="no")


def test_parameter_grads_false_needs_a_floating_input_to_carry_the_gradient():
    lm = nn.Sequential(nn.Embedding(10, 4), nn.LSTM(4, 6))
    with pytest.raises(InvalidValue, match=r"^model: 'a loss that requires no gradient'"):
        diagnose(lm, torch.randint(0, 10, (12, 2)), parameter_grads=False)


def test_the_copies_that_carry_the_gradient_keep_the_batch_s_containers():
    from collections import namedtuple

    from gradtrace.diagnosis.measuring import requiring_grad

    Pair = namedtuple("Pair", "x lengths")
    x, ids = torch.randn(2, 3), torch.arange(3)
    copied = requiring_grad({"a": Pair(x, ids), "b": [x, 1.5]})
    assert isinstance(copied["a"], Pair) and copied["a"].x.requires_grad
    assert copied["a"].lengths is ids and not x.requires_grad
    assert isinstance(copied["b"], list) and copied["b"][1] == 1.5
