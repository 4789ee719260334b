"""gradtrace: see, measure and fix vanishing and exploding gradients in recurrent networks."""

from __future__ import annotations

import importlib
import logging
from typing import Any

# A library logs but leaves handlers to the application; without this, Python's last-resort
# handler would print every monitor alert a second time next to its warning.
logging.getLogger("gradtrace").addHandler(logging.NullHandler())

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
