"""gradtrace: see, measure and fix vanishing and exploding gradients in recurrent networks."""

from __future__ import annotations

import logging

from gradtrace._lazy import lazy_getattr

# A library logs but leaves handlers to the application; without this, Python's last-resort
# handler would print every monitor alert a second time next to its warning.
logging.getLogger("gradtrace").addHandler(logging.NullHandler())

__version__ = "0.1.0"

# public name -> module that defines it; imported on first use so `import gradtrace` stays light.
_EXPORTS: dict[str, str] = {
    "trace": "gradtrace.tracing",
    "GradientProfile": "gradtrace.tracing",
    "mark": "gradtrace.tracing",
    "mark_sequence": "gradtrace.tracing",
    "recurrent_cell": "gradtrace.models.declare",
    "CellDeclaration": "gradtrace.models.declare",
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
    "init": "gradtrace.init",  # the submodule: gradtrace.init.orthogonal_(model.rnn)
}

__all__ = ["__version__", *_EXPORTS]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
