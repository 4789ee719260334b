"""Theory you can run: decay factors, the layer simulator, activation slopes, Jacobian products.

Every function validates its arguments (InvalidValue names the parameter) and returns a frozen
record with ``to_dict()`` / ``from_dict()``; ``to_dict()`` is exactly what
``gradtrace simulate <command> --json`` prints: {"command", "params", "results"}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradtrace._lazy import attach

# The public API, one line per name: type checkers read these imports, and at run time `attach`
# reads the same lines and imports each name on first use (so `--help` needs no numpy).
if TYPE_CHECKING:
    from gradtrace.simulate.activations import ACTIVATIONS as ACTIVATIONS
    from gradtrace.simulate.activations import Activation as Activation
    from gradtrace.simulate.activations import get_activation as get_activation
    from gradtrace.simulate.decay import DecayRow as DecayRow
    from gradtrace.simulate.decay import DecayTable as DecayTable
    from gradtrace.simulate.decay import StepsUntil as StepsUntil
    from gradtrace.simulate.decay import decay_table as decay_table
    from gradtrace.simulate.decay import steps_until as steps_until
    from gradtrace.simulate.formatting import format_log10 as format_log10
    from gradtrace.simulate.formatting import format_value as format_value
    from gradtrace.simulate.layers import LayerGradient as LayerGradient
    from gradtrace.simulate.layers import LayerGradients as LayerGradients
    from gradtrace.simulate.layers import layer_gradients as layer_gradients
    from gradtrace.simulate.matrix import MatrixParams as MatrixParams
    from gradtrace.simulate.matrix import MatrixResult as MatrixResult
    from gradtrace.simulate.matrix import matrix_recurrence as matrix_recurrence
    from gradtrace.simulate.saturation import ActivationReport as ActivationReport
    from gradtrace.simulate.saturation import ActivationRow as ActivationRow
    from gradtrace.simulate.saturation import activation_report as activation_report
    from gradtrace.simulate.saturation import expected_derivative as expected_derivative
else:
    __getattr__, __dir__, __all__ = attach(__name__, __file__)
