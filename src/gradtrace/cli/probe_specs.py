"""``gradtrace probe``'s flags and SPECs as ProbeSpecs, errors naming the flag the user typed."""

from __future__ import annotations

import math

from gradtrace import defaults
from gradtrace.cli.frontier_options import FRONTIER_OPTIONS, frontier_fields
from gradtrace.errors import InvalidValue

FIELD_OPTIONS = {
    **FRONTIER_OPTIONS,
    "cell": "--cell",
    "activation": "--activation",
    "init": "--init",
    "init_scale": "--init-scale",
    "forget_bias": "--forget-bias",
    "hidden_size": "--hidden",
    "num_layers": "--layers",
    "residual": "--residual",
    "layer_norm": "--layer-norm",
    "readout": "--readout",
    "input_size": "--input-size",
    "seq_len": "--seq-len",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "dtype": "--dtype",
    "task": "--task",
    "eps": "--eps",
}


def _forget_bias(raw: str, cell: str, init: str) -> float | None:
    """--forget-bias: auto (gradtrace.defaults), none (torch's default) or a number."""
    text = raw.strip().lower()
    if text == "auto":
        return defaults.forget_bias_for(cell, None, init)
    if text in ("none", "default"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidValue("--forget-bias", raw, "auto, none or a number") from None
    if not math.isfinite(value):
        raise InvalidValue("--forget-bias", raw, "auto, none or a finite number")
    return value


def _renamed(error: InvalidValue) -> InvalidValue:
    """The same error with a spec field named as the option the user typed."""
    field = error.name.removeprefix("model.")
    return InvalidValue(FIELD_OPTIONS.get(field, error.name), error.value, error.allowed)


def _base_spec(options: dict):
    from gradtrace.models import ModelSpec

    fields = {
        "cell": options["cell"],
        "activation": options["activation"],
        "init": options["init"],
        "init_scale": options["init_scale"],
        "forget_bias": _forget_bias(options["forget_bias"], options["cell"], options["init"]),
        "hidden_size": options["hidden"],
        "num_layers": options["layers"],
        "residual": options["residual"],
        "layer_norm": options["layer_norm"],
        "readout": options["readout"],
        "input_size": options["input_size"],
        **frontier_fields(options),
    }
    if fields["init"] == "chrono" and fields["init_scale"] is None:
        fields["init_scale"] = float(options["seq_len"])
    try:
        return ModelSpec(**fields)
    except InvalidValue as e:
        raise _renamed(e) from None


def _probe_specs(options: dict, specs: tuple[str, ...]):
    from gradtrace.diagnosis.probing import ProbeSpec
    from gradtrace.diagnosis.shorthand import parse_spec

    base = _base_spec(options)
    models = [(base, None)] if not specs else []
    auto = options["forget_bias"].strip().lower() == "auto"
    for text in specs:
        model, label = parse_spec(text, base, name="SPEC", seq_len=options["seq_len"])
        if auto:  # an LSTM the SPEC leaves unbiased gets forget bias 1, and says so
            biased, _ = parse_spec(
                text, base, seq_len=options["seq_len"], lstm_forget_bias=defaults.LSTM_FORGET_BIAS
            )
            if biased != model:
                model, label = biased, f"{label} (fb=1)"
        models.append((model, label))
    if options["task"] is not None:
        from gradtrace.tasks import TASKS

        if options["task"] not in TASKS:
            raise InvalidValue("--task", options["task"], "choose one of " + ", ".join(TASKS))
    out = []
    for model, label in models:
        try:
            out.append(
                ProbeSpec(
                    model=model,
                    seq_len=options["seq_len"],
                    batch_size=options["batch_size"],
                    seed=options["seed"],
                    dtype=options["dtype"],
                    task=options["task"],
                    eps=options["eps"],
                    label=label,
                )
            )
        except InvalidValue as e:
            raise _renamed(e) from None
    return out
