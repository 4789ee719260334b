"""ModelSpec validates every field with one-line errors and labels itself for tables."""

from __future__ import annotations

import pydantic
import pytest

from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"cell": "elman"}, "cell"),
        ({"cell": "lstm", "activation": "relu"}, "activation"),
        ({"cell": "gru", "activation": "sigmoid"}, "activation"),
        ({"activation": "gelu"}, "activation"),
        ({"leaky_slope": 1.5}, "leaky_slope"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"hidden_size": LIBRARY.hidden_size + 1}, "hidden_size"),
        ({"num_layers": LIBRARY.num_layers + 1}, "num_layers"),
        ({"input_size": -3}, "input_size"),
        ({"output_size": 0}, "output_size"),
        ({"readout": "mean"}, "readout"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"init": "glorot"}, "init"),
        ({"init": "identity", "cell": "lstm"}, "init"),
        ({"init": "chrono"}, "init"),
        ({"init": "chrono", "cell": "lstm"}, "init_scale"),
        ({"init": "chrono", "cell": "lstm", "init_scale": 1.5}, "init_scale"),
        ({"init": "normal", "init_scale": 0.0}, "init_scale"),
        ({"init": "spectral", "init_scale": float("nan")}, "init_scale"),
        ({"init_scale": 2.0}, "init_scale"),
        ({"forget_bias": 1.0}, "forget_bias"),
        ({"cell": "lstm", "forget_bias": float("inf")}, "forget_bias"),
        ({"backend": "fused", "layer_norm": True}, "backend"),
        ({"backend": "fused", "activation": "leaky_relu"}, "backend"),
        ({"backend": "cudnn"}, "backend"),
        ({"hidden": 64}, "hidden"),
    ],
)
def test_a_bad_field_raises_one_line_naming_field_and_value(fields, name):
    with pytest.raises(InvalidValue) as caught:
        ModelSpec(**fields)
    message = str(caught.value)
    assert message.startswith(f"{name}: ") and "is not allowed" in message
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_fused_backend_error_says_why():
    with pytest.raises(InvalidValue, match="layer_norm=True"):
        ModelSpec(backend="fused", layer_norm=True)
    with pytest.raises(InvalidValue, match="tanh and relu only"):
        ModelSpec(backend="fused", activation="prelu")


def test_unknown_init_lists_the_known_names():
    with pytest.raises(InvalidValue, match=r"orthogonal.*chrono"):
        ModelSpec(init="glorot")


def test_model_validate_and_json_also_raise_one_line_errors():
    with pytest.raises(InvalidValue, match=r"^hidden_size: -1 is not allowed"):
        ModelSpec.model_validate({"hidden_size": -1})
    with pytest.raises(InvalidValue, match=r"^cell: 'x' is not allowed"):
        ModelSpec.model_validate_json('{"cell": "x"}')


def test_a_spec_is_frozen_hashable_and_round_trips_through_json():
    spec = ModelSpec(cell="lstm", init="chrono", init_scale=100, forget_bias=1.0)
    with pytest.raises(pydantic.ValidationError):
        spec.hidden_size = 8
    assert ModelSpec.model_validate_json(spec.model_dump_json()) == spec
    assert hash(spec) == hash(ModelSpec(**spec.model_dump()))


def test_fused_is_chosen_exactly_when_torch_kernels_can_run_the_spec():
    assert ModelSpec().fused and ModelSpec(activation="relu").fused
    assert ModelSpec(cell="gru", residual=True, readout="attention").fused
    assert not ModelSpec(activation="sigmoid").fused
    assert not ModelSpec(cell="lstm", layer_norm=True).fused
    assert not ModelSpec(backend="loop").fused


def test_describe_gives_a_short_label():
    assert ModelSpec(init="orthogonal").describe() == "tanh RNN H=64 orthogonal"
    spec = ModelSpec(
        cell="lstm",
        hidden_size=128,
        num_layers=2,
        residual=True,
        layer_norm=True,
        readout="attention",
        init="chrono",
        init_scale=100,
        forget_bias=1.0,
        dropout=0.1,
    )
    assert spec.describe() == "LSTM H=128 L=2 residual LN attention chrono(100) fb=1 dropout=0.1"
    assert ModelSpec(init="spectral", init_scale=0.9).describe() == "tanh RNN H=64 spectral(0.9)"


def test_key_is_stable_and_changes_with_any_field():
    assert ModelSpec().key() == ModelSpec().key()
    assert len(ModelSpec().key()) == 16
    assert ModelSpec(hidden_size=32).key() != ModelSpec().key()
    assert ModelSpec(backend="loop").key() != ModelSpec().key()
