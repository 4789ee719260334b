"""The compact SPEC syntax: words and key=value items over a base model spec."""

from __future__ import annotations

import pytest

from gradtrace.diagnosis.shorthand import parse_spec
from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec


def test_words_set_cell_activation_init_and_switches():
    spec, label = parse_spec("rnn:relu:identity")
    assert (spec.cell, spec.activation, spec.init) == ("rnn", "relu", "identity")
    assert label == "rnn:relu:identity"
    spec, _ = parse_spec("gru,ln,attention,residual")
    assert spec.cell == "gru" and spec.layer_norm and spec.readout == "attention" and spec.residual


def test_key_value_items_are_typed_and_aliases_work():
    spec, label = parse_spec("cell=rnn,init=spectral,scale=0.9,hidden=128,layers=2,label=mine")
    assert (spec.init_scale, spec.hidden_size, spec.num_layers) == (0.9, 128, 2)
    assert label == "mine"
    spec, _ = parse_spec("lstm:fb=-3:residual=false")
    assert spec.forget_bias == -3.0 and spec.residual is False


def test_items_override_the_base_and_a_gated_cell_drops_a_relu_activation():
    base = ModelSpec(activation="relu", hidden_size=32)
    spec, _ = parse_spec("lstm", base)
    assert spec.cell == "lstm" and spec.activation == "tanh" and spec.hidden_size == 32
    back, _ = parse_spec("rnn", ModelSpec(cell="lstm", forget_bias=1.0))
    assert back.forget_bias is None


def test_a_cell_named_without_an_activation_takes_its_own():
    assert parse_spec("exprnn")[0].activation == "modrelu"  # expRNN's paper's
    assert parse_spec("exprnn:tanh")[0].activation == "tanh"
    assert parse_spec("exprnn", ModelSpec(activation="relu"))[0].activation == "modrelu"
    assert parse_spec("rnn", ModelSpec(cell="exprnn"))[0].activation == "tanh"
    assert parse_spec("rnn", ModelSpec(activation="relu"))[0].activation == "relu"


def test_lstm_forget_bias_default_applies_only_where_nothing_else_sets_it():
    assert parse_spec("lstm", lstm_forget_bias=1.0)[0].forget_bias == 1.0
    assert parse_spec("lstm:fb=-1", lstm_forget_bias=1.0)[0].forget_bias == -1.0
    assert parse_spec("gru", lstm_forget_bias=1.0)[0].forget_bias is None
    assert parse_spec("lstm:chrono", seq_len=50, lstm_forget_bias=1.0)[0].forget_bias is None


def test_chrono_without_a_scale_takes_t_max_from_the_sequence_length():
    spec, _ = parse_spec("lstm:chrono", seq_len=200)
    assert spec.init == "chrono" and spec.init_scale == 200.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"^SPEC: '' is not allowed"),
        ("rnn:foo", r"^SPEC 'rnn:foo': 'foo' is not allowed; a word is one of rnn, lstm"),
        ("rnn:colour=red", r"^SPEC 'rnn:colour=red': 'colour=red' is not allowed; keys are"),
        ("rnn:hidden=big", r"^SPEC 'rnn:hidden=big': hidden_size: 'big' is not allowed; an int"),
        ("rnn:hidden=0", r"^SPEC 'rnn:hidden=0': hidden_size: 0 is not allowed"),
        ("lstm:relu", r"^SPEC 'lstm:relu': activation: 'relu' is not allowed"),
        ("rnn:ln=maybe", r"^SPEC 'rnn:ln=maybe': layer_norm: 'maybe' is not allowed; true or"),
    ],
)
def test_a_bad_spec_names_itself_the_item_and_what_is_allowed(text, message):
    with pytest.raises(InvalidValue, match=message):
        parse_spec(text)


def test_frontier_cells_and_their_options_are_words_and_keys():
    spec, _ = parse_spec("lru,r_min=0.5,r_max=0.9,max_phase=1.5,state=8")
    assert (spec.cell, spec.r_min, spec.r_max, spec.max_phase, spec.state_size) == (
        "lru",
        0.5,
        0.9,
        1.5,
        8,
    )
    spec, _ = parse_spec("indrnn:horizon=100")
    assert spec.cell == "indrnn" and spec.horizon == 100
    with pytest.raises(InvalidValue, match=r"a radius above r_min = 0\.9"):
        parse_spec("lru,r_min=0.9,r_max=0.5")
    with pytest.raises(InvalidValue, match="horizon"):
        parse_spec("lstm,horizon=100")
