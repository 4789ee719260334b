"""The layer simulator: layer i of L gets w**(L-i), judged against a one-decade band."""

from __future__ import annotations

import json

import pytest

from gradtrace.errors import InvalidValue
from gradtrace.simulate import LayerGradients, layer_gradients


def test_layer_i_gets_w_to_the_power_l_minus_i():
    result = layer_gradients(0.5, 5)
    assert [layer.value for layer in result.layers] == [0.0625, 0.125, 0.25, 0.5, 1.0]
    assert [layer.text for layer in result.layers] == ["0.0625", "0.125", "0.250", "0.500", "1.00"]
    assert [layer.exponent for layer in result.layers] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize(
    ("w", "layers", "verdict"),
    [
        (0.5, 5, "vanishing"),  # 0.0625 < 0.1
        (0.6, 5, "stable"),  # 0.1296
        (1.0, 5, "stable"),
        (1.5, 5, "stable"),  # 5.06 < 10
        (2.0, 5, "exploding"),  # 16 > 10
        (0.9, 50, "vanishing"),  # depth compounds: 0.9**49 = 0.0057
        (3.0, 1, "stable"),  # one layer: nothing to compare
    ],
)
def test_verdict_compares_layer_one_with_the_last_within_a_factor_of_ten(w, layers, verdict):
    assert layer_gradients(w, layers).verdict == verdict


def test_band_widens_or_narrows_the_stable_zone():
    assert layer_gradients(1.5, 5, band=2.0).verdict == "exploding"
    assert layer_gradients(0.5, 5, band=100.0).verdict == "stable"


def test_deep_stacks_stay_finite_in_log10():
    result = layer_gradients(0.1, 1000)
    assert result.ratio.value is None
    assert result.ratio.log10 == pytest.approx(-999.0)
    assert result.ratio.text == "1.00e-999"
    assert result.verdict == "vanishing"


def test_summary_says_ratio_and_verdict():
    assert layer_gradients(2.0, 5).summary == (
        "w = 2, 5 layers: layer 1 gets 16.0 x layer 5's gradient -> exploding"
    )


def test_record_round_trips_through_strict_json():
    result = layer_gradients(0.7, 8)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["command"] == "layers" and data["results"]["verdict"] == "vanishing"
    assert LayerGradients.from_dict(data) == result


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0.0,), {}, "weight_scale: 0.0 is not allowed; must be > 0"),
        ((-1.0,), {}, "weight_scale: -1.0 is not allowed; must be > 0"),
        ((0.5, 0), {}, "num_layers: 0 is not allowed; must be between 1 and 1000"),
        ((0.5, 1001), {}, "num_layers: 1001 is not allowed; must be between 1 and 1000"),
        ((0.5,), {"band": 1.0}, "band: 1.0 is not allowed; must be > 1"),
    ],
)
def test_bad_input_names_the_parameter(args, kwargs, message):
    with pytest.raises(InvalidValue) as info:
        layer_gradients(*args, **kwargs)
    assert str(info.value) == message
