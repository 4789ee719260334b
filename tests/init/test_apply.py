"""apply_init_ dispatches by name, validates its options and applies the forget bias last."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradtrace import init
from gradtrace.errors import InvalidValue


def test_every_registered_name_runs_on_a_model_it_fits():
    for name in init.INITIALIZERS:
        model = nn.RNN(3, 6) if name in init.RNN_ONLY else nn.LSTM(3, 6)
        scale = 20.0 if name == "chrono" else None
        assert init.apply_init_(model, name, scale=scale) is model


def test_the_registry_has_the_documented_names():
    assert list(init.INITIALIZERS) == [
        "default",
        "normal",
        "xavier_uniform",
        "xavier_normal",
        "he",
        "orthogonal",
        "identity",
        "spectral",
        "forget_bias",
        "chrono",
    ]
    assert set(init.SCALE_MEANING) == set(init.INITIALIZERS)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        InvalidValue, match=r"^init: 'glorot' is not allowed; choose one of default"
    ):
        init.apply_init_(nn.RNN(2, 3), "glorot")


def test_scale_is_passed_as_the_initializers_own_parameter():
    model = nn.RNN(2, 8)
    init.apply_init_(model, "spectral", scale=0.7)
    radius = torch.linalg.eigvals(model.weight_hh_l0.detach().double()).abs().max().item()
    assert radius == pytest.approx(0.7, rel=1e-6)
    init.apply_init_(model, "identity", scale=0.3)
    assert torch.equal(model.weight_hh_l0, 0.3 * torch.eye(8))
    lstm = nn.LSTM(2, 4)
    init.apply_init_(lstm, "forget_bias", scale=3.0)
    assert torch.all(lstm.bias_ih_l0[4:8] == 3.0)


def test_forget_bias_is_applied_after_the_init():
    model = nn.LSTM(2, 4)
    init.apply_init_(model, "chrono", scale=50.0, forget_bias=-1.0)
    assert torch.all(model.bias_ih_l0[4:8] == -1.0) and torch.all(model.bias_hh_l0[4:8] == 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "default", "scale": 2.0},
            r"^init_scale: 2.0 is not allowed; init 'default' takes",
        ),
        ({"name": "chrono"}, r"^init_scale: None is not allowed; init 'chrono' needs"),
        ({"name": "chrono", "scale": 1.0}, r"^init_scale: 1.0 is not allowed"),
        ({"name": "normal", "scale": -1.0}, r"^init_scale: -1.0 is not allowed"),
        ({"name": "normal", "forget_bias": float("nan")}, r"^forget_bias: nan is not allowed"),
    ],
)
def test_bad_options_are_refused_before_anything_changes(kwargs, message):
    model = nn.LSTM(2, 4)
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(InvalidValue, match=message):
        init.apply_init_(model, **kwargs)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), before, strict=True))
