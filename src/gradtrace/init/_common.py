"""Shared helpers of the initializers: finding the matrices and checking option values."""

from __future__ import annotations

import math

from torch import nn

from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models.introspect import RecurrentMatrix, recurrent_matrices


def matrices_of(model: nn.Module) -> list[RecurrentMatrix]:
    """Every recurrent matrix of ``model``; UnsupportedModel when there is none."""
    matrices = recurrent_matrices(model)
    if not matrices:
        raise UnsupportedModel(
            f"{type(model).__name__} has no recurrent layer "
            "(nn.RNN/LSTM/GRU, a torch cell or a gradtrace cell)"
        )
    return matrices


def check_positive(name: str, value: float) -> float:
    """``value`` as a float when it is finite and > 0, else InvalidValue."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(name, value, "a finite number > 0") from None
    if not (math.isfinite(number) and number > 0):
        raise InvalidValue(name, value, "a finite number > 0")
    return number


def check_finite(name: str, value: float) -> float:
    """``value`` as a float when it is finite, else InvalidValue."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(name, value, "a finite number") from None
    if not math.isfinite(number):
        raise InvalidValue(name, value, "a finite number")
    return number


def blocks(matrix: RecurrentMatrix, tensor) -> list:
    """Views of the gate blocks of ``tensor`` (rows of one gate each), in torch's gate order."""
    return [matrix.block(tensor, gate) for gate in matrix.gates]
