"""Built-in studies as plain data: quick (minutes), standard (an hour), full (GPU or Ray)."""

from __future__ import annotations

from typing import Any

from gradtrace.errors import check_choice
from gradtrace.study.spec import StudySpec

# The seven architectures every preset compares; all train with norm clipping at 1.0.
CORE_VARIANTS: list[dict[str, Any]] = [
    {"name": "tanh RNN", "technique": "baseline (no fix)", "cell": "rnn", "activation": "tanh"},
    {
        "name": "tanh RNN (orthogonal)",
        "technique": "weight initialization",
        "cell": "rnn",
        "init": "orthogonal",
    },
    {"name": "sigmoid RNN", "technique": "saturating activation", "activation": "sigmoid"},
    {"name": "ReLU RNN", "technique": "ReLU activation", "activation": "relu"},
    {
        "name": "IRNN (ReLU + identity)",
        "technique": "ReLU + identity init",
        "activation": "relu",
        "init": "identity",
    },
    {"name": "LSTM", "technique": "LSTM", "cell": "lstm"},
    {"name": "GRU", "technique": "GRU", "cell": "gru"},
]

QUICK: dict[str, Any] = {
    "name": "quick",
    "description": (
        "Adding problem at T = 10..200: seven recurrent architectures under one budget "
        "(a few minutes on two CPU cores)."
    ),
    "tasks": ["adding"],
    "seq_lens": [10, 25, 50, 100, 200],
    "seeds": [0],
    "reference": "tanh RNN",
    "model": {"hidden_size": 32},
    "train": {
        "optimizer": "adam",
        "lr": 1e-2,
        "batch_size": 64,
        "clip": "norm",
        "clip_value": 1.0,
        "eval_every": 50,
        "eval_batch_size": 256,
        "profiles": True,
    },
    # LSTM needs ~1000 steps at T=200 (GRU ~300), 1500 leaves margin. On an idle core the step
    # budget ends failing runs (about 20 s at T=200); the clock only matters on a busy machine.
    "budget": {"max_steps": 1500, "max_seconds": 45.0},
    "variant": CORE_VARIANTS,
}

_ABLATIONS: list[dict[str, Any]] = [
    # initialization
    {"name": "tanh RNN (xavier)", "technique": "weight initialization", "init": "xavier_uniform"},
    {
        "name": "tanh RNN (spectral 1.0)",
        "technique": "weight initialization",
        "init": "spectral",
        "init_scale": 1.0,
    },
    {"name": "LSTM (forget bias 1)", "technique": "LSTM", "cell": "lstm", "forget_bias": 1.0},
    # clipping
    {"name": "tanh RNN (no clipping)", "technique": "gradient clipping", "clip": "none"},
    {
        "name": "ReLU RNN (no clipping)",
        "technique": "gradient clipping",
        "activation": "relu",
        "clip": "none",
    },
    {
        "name": "tanh RNN (clip value 1)",
        "technique": "gradient clipping",
        "clip": "value",
        "clip_value": 1.0,
    },
    {
        "name": "LSTM (clip norm 0.25)",
        "technique": "gradient clipping",
        "cell": "lstm",
        "clip_value": 0.25,
    },
    {
        "name": "LSTM (clip norm 5)",
        "technique": "gradient clipping",
        "cell": "lstm",
        "clip_value": 5.0,
    },
    # activations
    {"name": "leaky ReLU RNN", "technique": "ReLU activation", "activation": "leaky_relu"},
    # architecture options
    {
        "name": "2-layer tanh RNN",
        "technique": "skip connections (without)",
        "num_layers": 2,
    },
    {
        "name": "2-layer tanh RNN (residual)",
        "technique": "skip connections",
        "num_layers": 2,
        "residual": True,
    },
    {"name": "tanh RNN (layer norm)", "technique": "layer normalization", "layer_norm": True},
    {
        "name": "tanh RNN (attention readout)",
        "technique": "attention",
        "readout": "attention",
        "tasks": ["adding", "temporal_order"],
    },
    {
        "name": "LSTM (truncated BPTT 20)",
        "technique": "truncated BPTT",
        "cell": "lstm",
        "tbptt": 20,
        "tasks": ["adding"],
    },
]

# the ablations run on the adding problem only (unless they say otherwise)
_ABLATIONS = [{"tasks": ["adding"], **variant} for variant in _ABLATIONS]

STANDARD: dict[str, Any] = {
    **QUICK,
    "name": "standard",
    "description": (
        "Adding (T <= 400), copy, temporal order and sequential digits; initialization and "
        "clipping ablations, residual, layer norm, attention, truncated BPTT; 3 seeds "
        "(about an hour on two CPU cores)."
    ),
    "tasks": [
        "adding",
        {"name": "copy", "seq_lens": [30, 60, 120]},
        {"name": "temporal_order", "seq_lens": [50, 100, 200]},
        {"name": "digits", "seq_lens": [64]},
    ],
    "seq_lens": [10, 25, 50, 100, 200, 400],
    "seeds": [0, 1, 2],
    "budget": {"max_steps": 2000, "max_seconds": 20.0},
    "variant": CORE_VARIANTS + _ABLATIONS,
}

FULL: dict[str, Any] = {
    **STANDARD,
    "name": "full",
    "description": (
        "The standard study at T up to 2000 with larger models and budgets, five seeds: "
        "for a GPU or a Ray cluster."
    ),
    "tasks": [
        "adding",
        {"name": "copy", "seq_lens": [60, 120, 220, 520, 1020]},
        {"name": "temporal_order", "seq_lens": [100, 200, 500, 1000]},
        {"name": "digits", "seq_lens": [64]},
        {"name": "digits_permuted", "seq_lens": [64]},
    ],
    "seq_lens": [10, 25, 50, 100, 200, 400, 750, 1000, 2000],
    "seeds": [0, 1, 2, 3, 4],
    "model": {"hidden_size": 128},
    "budget": {"max_steps": 20000, "max_seconds": 1800.0},
}

PRESETS: dict[str, dict[str, Any]] = {"quick": QUICK, "standard": STANDARD, "full": FULL}


def preset(name: str) -> StudySpec:
    """The StudySpec of the built-in preset ``name`` (quick, standard or full)."""
    from gradtrace.study.loading import spec_from_dict

    check_choice("--preset", name, PRESETS)
    return spec_from_dict(PRESETS[name], source=f"preset {name}")
