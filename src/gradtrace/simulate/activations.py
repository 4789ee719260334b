"""Activation functions and their derivatives in float64, with PyTorch's conventions at 0."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradtrace.errors import check_choice
from gradtrace.simulate import checks

Array = np.ndarray
MAX_SLOPE = 100.0


def _sech2(a: Array) -> Array:
    # 1 - tanh(a)**2 rounds to 0 for |a| > 19; this form keeps tiny derivatives exact
    t = np.exp(-2.0 * np.abs(a))
    return 4.0 * t / (1.0 + t) ** 2


def _sigmoid(a: Array) -> Array:
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_prime(a: Array) -> Array:
    e = np.exp(-np.abs(a))  # s (1 - s) without cancellation
    return e / (1.0 + e) ** 2


def _piecewise(a: Array, slope: float) -> Array:
    return np.where(a > 0, a, slope * a)


def _piecewise_prime(a: Array, slope: float) -> Array:
    # PyTorch: relu'(0) = 0, leaky_relu'(0) = negative slope, prelu'(0) = a (the "else" branch)
    return np.where(a > 0, 1.0, slope)


@dataclass(frozen=True)
class Activation:
    """phi and phi' (numpy, float64) with sup|phi'|, phi'(0) and where the sup is reached."""

    name: str
    phi: Callable[[Array, float], Array]
    derivative: Callable[[Array, float], Array]
    default_slope: float | None  # the negative-side slope, for the relu family
    sup_at: str  # where sup|phi'| is reached, in words
    zero_rule: str  # phi'(0) and the convention behind it

    def slope_or_default(self, slope: float | None) -> float:
        """The negative-side slope in use (0 for relu, unused by smooth functions)."""
        if self.default_slope is None:
            return 0.0
        return self.default_slope if slope is None else slope

    def sup_derivative(self, slope: float | None = None) -> float:
        """gamma_phi = sup over a of |phi'(a)|."""
        if self.name == "sigmoid":
            return 0.25
        if self.default_slope is not None:
            return max(1.0, abs(self.slope_or_default(slope)))
        return 1.0

    def at_zero(self, slope: float | None = None) -> float:
        """phi'(0) with PyTorch's convention for the kink of the relu family."""
        return float(self.derivative(np.zeros(1), self.slope_or_default(slope))[0])


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid",
        lambda a, s: _sigmoid(a),
        lambda a, s: _sigmoid_prime(a),
        None,
        "a = 0",
        "sigmoid'(0) = 1/4, the largest value",
    ),
    "tanh": Activation(
        "tanh",
        lambda a, s: np.tanh(a),
        lambda a, s: _sech2(a),
        None,
        "a = 0",
        "tanh'(0) = 1, the largest value",
    ),
    "relu": Activation(
        "relu",
        lambda a, s: np.maximum(a, 0.0),
        lambda a, s: (a > 0).astype(np.float64),
        None,
        "a > 0",
        "relu'(0) = 0 (PyTorch's convention at the kink)",
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        _piecewise,
        _piecewise_prime,
        0.01,
        "a > 0",
        "leaky_relu'(0) = slope (PyTorch uses the negative side at 0)",
    ),
    "prelu": Activation(
        "prelu",
        _piecewise,
        _piecewise_prime,
        0.25,
        "a > 0",
        "prelu'(0) = a (PyTorch uses the negative side at 0; a = 0.25 at init)",
    ),
    "linear": Activation(
        "linear",
        lambda a, s: a,
        lambda a, s: np.ones_like(a),
        None,
        "everywhere",
        "linear'(a) = 1 everywhere",
    ),
}
REPORTED = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu")


def get_activation(name: str, *, parameter: str = "activation") -> Activation:
    """The registered activation ``name``; InvalidValue naming ``parameter`` otherwise."""
    check_choice(parameter, name, ACTIVATIONS)
    return ACTIVATIONS[name]


def checked_slope(slope: float | None, *, parameter: str = "slope") -> float | None:
    """None (each activation's default) or a finite slope with |slope| <= MAX_SLOPE."""
    if slope is None:
        return None
    return checks.real(parameter, slope, low=-MAX_SLOPE, high=MAX_SLOPE)
