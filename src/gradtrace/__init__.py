"""gradtrace: see, measure and fix vanishing and exploding gradients in recurrent networks."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; imported on first use so `import gradtrace` stays light.
_EXPORTS: dict[str, str] = {
    "trace": "gradtrace.tracing",
    "GradientProfile": "gradtrace.tracing",
    "diagnose": "gradtrace.diagnosis",
    "Diagnosis": "gradtrace.diagnosis",
    "probe": "gradtrace.diagnosis",
    "ProbeSpec": "gradtrace.diagnosis",
    "ModelSpec": "gradtrace.models",
    "build_model": "gradtrace.models",
    "TaskSpec": "gradtrace.tasks",
    "TrainSpec": "gradtrace.training",
    "train": "gradtrace.training",
    "Monitor": "gradtrace.monitor",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gradtrace' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
