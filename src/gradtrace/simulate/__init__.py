"""Theory you can run: decay factors, the layer simulator, activation slopes, Jacobian products.

Every function validates its arguments (InvalidValue names the parameter) and returns a frozen
record with ``to_dict()`` / ``from_dict()``; ``to_dict()`` is exactly what
``gradtrace simulate <command> --json`` prints: {"command", "params", "results"}.
"""

from __future__ import annotations

from gradtrace.simulate.activations import ACTIVATIONS, Activation, get_activation
from gradtrace.simulate.decay import DecayRow, DecayTable, StepsUntil, decay_table, steps_until
from gradtrace.simulate.formatting import format_log10, format_value
from gradtrace.simulate.layers import LayerGradient, LayerGradients, layer_gradients
from gradtrace.simulate.matrix import MatrixParams, MatrixResult, matrix_recurrence
from gradtrace.simulate.saturation import (
    ActivationReport,
    ActivationRow,
    activation_report,
    expected_derivative,
)

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ActivationReport",
    "ActivationRow",
    "DecayRow",
    "DecayTable",
    "LayerGradient",
    "LayerGradients",
    "MatrixParams",
    "MatrixResult",
    "StepsUntil",
    "activation_report",
    "decay_table",
    "expected_derivative",
    "format_log10",
    "format_value",
    "get_activation",
    "layer_gradients",
    "matrix_recurrence",
    "steps_until",
]
