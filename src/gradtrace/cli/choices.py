"""The choices of text options, shown in ``--help`` as ``[a|b|c]`` without importing torch.

The options stay plain text so that a bad value is still reported by the spec that owns it, as
one line naming the option; tests/core/test_cli_help.py checks these lists against the specs
and registries they mirror.
"""

from __future__ import annotations

import click

CHOICES: dict[str, tuple[str, ...]] = {
    "cell": ("rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"),
    "activation": ("tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"),
    "readout": ("last", "all", "attention"),
    "backend": ("auto", "fused", "loop"),
    "optimizer": ("adam", "rmsprop", "sgd"),
    "clip": ("none", "norm", "value"),
    "device": ("auto", "cpu", "cuda"),
    "task": ("adding", "copy", "temporal_order", "digits", "digits_permuted"),
    "init": (
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
    ),
    "preset": ("quick", "standard", "ablations", "full", "long", "frontier", "frontier_long"),
    "budget": ("quick", "standard", "full"),
    "executor": ("local", "ray"),
}


METAVAR_WIDTH = 30  # longer lists go into the option's help text, which Click wraps


def show_choices(command: click.Command) -> click.Command:
    """List each CHOICES option's values in ``--help``: ``--cell [rnn|lstm|gru]``, or for a long
    list ``--init NAME ... (one of: default, normal, ...)``; returns the command."""
    for param in command.params:
        if not isinstance(param, click.Option) or param.name not in CHOICES:
            continue
        if isinstance(param.type, click.Choice):
            continue  # Click lists those itself
        values = CHOICES[param.name]
        metavar = "[" + "|".join(values) + "]"
        if len(metavar) <= METAVAR_WIDTH:
            param.metavar = metavar
        else:
            param.metavar = "NAME"
            param.help = f"{param.help or ''} (one of: {', '.join(values)})".strip()
    return command
