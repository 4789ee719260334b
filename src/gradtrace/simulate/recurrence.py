"""The recurrence h_t = phi(W h_{t-1} + U x_t + b) in float64: weights, inputs and forward pass."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradtrace.simulate.activations import get_activation
from gradtrace.simulate.weights import WeightKind, recurrent_weight

# phi(c a) = c phi(a) for c > 0: the forward state of these may be carried in log scale
HOMOGENEOUS = ("relu", "leaky_relu", "prelu", "linear")


@dataclass(frozen=True)
class Recurrence:
    """Everything that defines one run: W (H, H), U (H, I), x (T, I), b (H,), phi and its slope.

    Drawn from np.random.default_rng(seed) in this order: W, U, x. U has entries
    N(0, input_scale^2 / I), so every unit receives an input drive of standard deviation
    input_scale; x_t ~ N(0, 1); b is the constant ``bias`` in every unit; h_0 = 0.
    """

    weight: np.ndarray  # (H, H)
    input_weight: np.ndarray  # (H, I)
    inputs: np.ndarray  # (T, I)
    bias: np.ndarray  # (H,)
    activation: str
    slope: float  # negative-side slope of the relu family (0 for relu, unused otherwise)


def make_recurrence(
    *,
    hidden_size: int,
    rho: float,
    weights: WeightKind,
    activation: str,
    slope: float | None,
    steps: int,
    input_size: int,
    input_scale: float,
    bias: float,
    seed: int,
) -> Recurrence:
    """Draw the recurrence's arrays (arguments already validated)."""
    rng = np.random.default_rng(seed)
    weight = recurrent_weight(hidden_size, rho, weights, rng)
    input_weight = rng.standard_normal((hidden_size, input_size)) * (
        input_scale / math.sqrt(input_size)
    )
    inputs = rng.standard_normal((steps, input_size))
    negative_slope = get_activation(activation).slope_or_default(slope)
    return Recurrence(
        weight,
        input_weight,
        inputs,
        np.full(hidden_size, float(bias)),
        activation,
        negative_slope,
    )


def forward_derivatives(recurrence: Recurrence) -> np.ndarray:
    """phi'(a_t) for t = 1..T, shape (T, H), from h_0 = 0.

    For the positively homogeneous activations (relu family, linear) the state is carried as
    s * h_hat with log(s) tracked separately (s >= 1), so an exploding state never overflows:
    a_t / s = W h_hat + (U x_t + b) / s has the signs that decide phi'(a_t).
    """
    activation = get_activation(recurrence.activation)
    weight, slope = recurrence.weight, recurrence.slope
    drive = recurrence.inputs @ recurrence.input_weight.T + recurrence.bias[None, :]  # (T, H)
    steps, hidden = drive.shape
    out = np.empty((steps, hidden))
    state = np.zeros(hidden)  # h_hat, with h = exp(log_scale) * h_hat
    log_scale = 0.0
    homogeneous = recurrence.activation in HOMOGENEOUS
    for t in range(steps):
        pre = weight @ state + drive[t] * math.exp(-log_scale)  # a_t / s
        out[t] = activation.derivative(pre, slope)
        state = activation.phi(pre, slope)
        if homogeneous:
            size = float(np.linalg.norm(state))
            if size > 1.0:  # keep s >= 1 so exp(-log_scale) never overflows
                state /= size
                log_scale += math.log(size)
    return out
