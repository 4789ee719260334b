"""The compact model syntax of ``gradtrace probe``: "rnn:tanh:orthogonal", "lstm,forget_bias=1".

A SPEC is a list of items separated by ':' or ','. An item is either ``key=value`` or a bare
word: a cell (rnn, lstm, gru, indrnn, exprnn, lru, mingru, minlstm, selective_ssm), an
activation (tanh, sigmoid, relu, leaky_relu, prelu, modrelu), an init name (default, orthogonal,
identity, ...) or a switch (residual, layer_norm / ln, attention).
Keys: cell, activation, init, scale (init_scale), forget_bias (fb), hidden (hidden_size),
layers (num_layers), residual, layer_norm (ln), readout, leaky_slope, dropout, label; for the
frontier cells r_min, r_max, max_phase (LRU), state (state_size: LRU, selective SSM), horizon
(IndRNN).
Items override a base ModelSpec; a cell named here without an activation takes its own (modrelu
for exprnn, tanh for the rest: the base's activation is kept only by an rnn, unless modrelu),
a plain rnn drops the base's forget bias; chrono without a scale takes t_max = T.
Examples: "rnn:tanh:default", "rnn:relu:identity", "lstm", "lstm:fb=1", "lstm:chrono",
"gru:orthogonal", "cell=rnn,init=spectral,scale=0.9,hidden=128".
"""

from __future__ import annotations

from typing import Any

from gradtrace.errors import InvalidValue
from gradtrace.init import INITIALIZERS
from gradtrace.models import ModelSpec

CELLS = ("rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm")
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu")
SWITCHES = {
    "residual": ("residual", True),
    "layer_norm": ("layer_norm", True),
    "ln": ("layer_norm", True),
    "attention": ("readout", "attention"),
}
KEYS = {
    "cell": "cell",
    "activation": "activation",
    "init": "init",
    "scale": "init_scale",
    "init_scale": "init_scale",
    "forget_bias": "forget_bias",
    "fb": "forget_bias",
    "hidden": "hidden_size",
    "hidden_size": "hidden_size",
    "layers": "num_layers",
    "num_layers": "num_layers",
    "residual": "residual",
    "layer_norm": "layer_norm",
    "ln": "layer_norm",
    "readout": "readout",
    "leaky_slope": "leaky_slope",
    "dropout": "dropout",
    # frontier cells (each only for its cell; ModelSpec says which)
    "r_min": "r_min",
    "r_max": "r_max",
    "max_phase": "max_phase",
    "state": "state_size",
    "state_size": "state_size",
    "horizon": "horizon",
}
_INTS = ("hidden_size", "num_layers", "state_size", "horizon")
_FLOATS = ("init_scale", "forget_bias", "leaky_slope", "dropout", "r_min", "r_max", "max_phase")
_BOOLS = ("residual", "layer_norm")


def parse_spec(
    text: str,
    base: ModelSpec | None = None,
    *,
    name: str = "SPEC",
    seq_len: int | None = None,
    lstm_forget_bias: float | None = None,
) -> tuple[ModelSpec, str]:
    """(model spec, label) for a SPEC string over ``base``; InvalidValue names the bad item.

    ``seq_len`` is the t_max of a chrono init given without a scale; ``lstm_forget_bias`` is
    the forget bias an LSTM gets when neither the SPEC nor ``base`` sets one.
    """
    base = base or ModelSpec()
    items = [item.strip() for item in text.replace(",", ":").split(":") if item.strip()]
    if not items:
        raise InvalidValue(name, text, "a SPEC like rnn:tanh:orthogonal or lstm,fb=1")
    fields: dict[str, Any] = {}
    given: dict[str, str] = {}  # field -> the item that set it
    label = None
    for item in items:
        if "=" in item:
            key, _, raw = item.partition("=")
            key = key.strip().lower()
            if key == "label":
                label = raw.strip()
                continue
            if key not in KEYS:
                raise InvalidValue(
                    f"{name} {text!r}", item, "keys are " + ", ".join(sorted(KEYS)) + ", label"
                )
            found = {KEYS[key]: _value(KEYS[key], raw.strip(), f"{name} {text!r}")}
        else:
            found = _word(item.lower(), f"{name} {text!r}")
        for field, value in found.items():
            if field in fields and fields[field] != value:
                allowed = f"{given[field]!r} already sets {field}; give each setting once"
                raise InvalidValue(f"{name} {text!r}", item, allowed)
            fields[field], given[field] = value, item
    merged = {**base.model_dump(), **fields}
    if "cell" in fields:
        keeps = fields["cell"] == "rnn" and merged["activation"] != "modrelu"
        if "activation" not in fields and not keeps:
            merged["activation"] = None  # the cell's own: ModelSpec gives modrelu to exprnn
        if fields["cell"] == "rnn" and "forget_bias" not in fields:
            merged["forget_bias"] = None
    unset = "forget_bias" not in fields and merged.get("forget_bias") is None
    if merged.get("cell") == "lstm" and unset and merged.get("init") not in ("chrono",):
        merged["forget_bias"] = lstm_forget_bias
    if merged.get("init") == "chrono" and merged.get("init_scale") is None and seq_len:
        merged["init_scale"] = float(seq_len)
    try:
        spec = ModelSpec(**merged)
    except InvalidValue as e:
        raise InvalidValue(f"{name} {text!r}: {e.name}", e.value, e.allowed) from None
    return spec, label or text


def _word(word: str, where: str) -> dict[str, Any]:
    if word in CELLS:
        return {"cell": word}
    if word in ACTIVATIONS:
        return {"activation": word}
    if word in INITIALIZERS:
        return {"init": word}
    if word in SWITCHES:
        field, value = SWITCHES[word]
        return {field: value}
    allowed = [*CELLS, *ACTIVATIONS, *INITIALIZERS, *SWITCHES]
    raise InvalidValue(where, word, "a word is one of " + ", ".join(allowed) + " or key=value")


def _value(field: str, raw: str, where: str) -> Any:
    if raw.lower() in ("none", "default") and field in ("init_scale", "forget_bias"):
        return None
    try:
        if field in _INTS:
            return int(raw)
        if field in _FLOATS:
            return float(raw)
    except ValueError:
        kind = "an integer" if field in _INTS else "a number"
        raise InvalidValue(f"{where}: {field}", raw, kind) from None
    if field in _BOOLS:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise InvalidValue(f"{where}: {field}", raw, "true or false")
    return raw
