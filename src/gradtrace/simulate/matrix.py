"""Jacobian products of a real recurrence: norms by lag, the bound and Pascanu's conditions."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from gradtrace import display, flow
from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue, check_choice
from gradtrace.simulate import checks
from gradtrace.simulate.activations import ACTIVATIONS, checked_slope, get_activation
from gradtrace.simulate.formatting import format_value
from gradtrace.simulate.jacobians import NormMethod, blas_threads_for, jacobian_log10_norms
from gradtrace.simulate.recurrence import forward_derivatives, make_recurrence
from gradtrace.simulate.weights import WEIGHT_KINDS, spectral_radius

MAX_RHO = 1000.0
MAX_INPUT_SIZE = 4096
# hidden^3 * steps: the flops of the product and its norms; 2**34 took 3 s on one core, so
# 2**35 stays well under a minute on a slow, busy one (2**40 took minutes)
MAX_WORK = 2**35
# gamma_phi * sigma_max within this of 1 counts as exactly 1 (orthogonal W at rho = 1 is
# 1 +- 2e-16 after rounding; calling that "exploding is possible" would be noise)
UNIT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class MatrixParams:
    """The parameters of one matrix run (validated)."""

    hidden_size: int = 64
    rho: float = 1.0
    weights: str = "gaussian"
    activation: str = "tanh"
    slope: float | None = None
    steps: int = 100
    input_size: int = 1
    input_scale: float = 1.0
    bias: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class MatrixResult:
    """||dh_T/dh_{T-k}||_2 for k = 1..T with the bound, the decay factor and the conditions."""

    params: MatrixParams
    log10_norms: tuple[float, ...]  # index k - 1; -inf where the product is exactly zero
    gamma_hat: float | None  # flow.decay_factor of the norms; None when undefined
    gamma_phi: float  # sup |phi'|
    sigma_max: float  # largest singular value of W
    spectral_radius: float  # largest |eigenvalue| of W
    mean_derivative: float  # phi'(a_t) averaged over steps and units
    horizon: int | None  # first lag with norm < eps (flow.horizon); None: beyond T
    verdict: str  # flow.verdict of the norms (r_0 = 1)
    eps: float = flow.DEFAULT_EPS
    conditions: tuple[str, ...] = field(default=())

    @property
    def bound_factor(self) -> float:
        """gamma_phi * sigma_max(W): ||dh_T/dh_{T-k}|| <= bound_factor**k."""
        return self.gamma_phi * self.sigma_max

    @property
    def sufficient_vanishing(self) -> bool:
        """sigma_max(W) < 1 / gamma_phi: every input gives vanishing gradients."""
        return self.bound_factor < 1.0 - UNIT_TOLERANCE

    @property
    def necessary_exploding(self) -> bool:
        """sigma_max(W) > 1 / gamma_phi: gradients may explode (they need not)."""
        return self.bound_factor > 1.0 + UNIT_TOLERANCE

    @property
    def norms(self) -> np.ndarray:
        """The norms as doubles (0 or inf where beyond the double range; log10_norms is exact)."""
        with np.errstate(over="ignore", under="ignore"):
            return 10.0 ** np.asarray(self.log10_norms)

    @property
    def bound_log10(self) -> np.ndarray:
        """log10 of the bound (gamma_phi sigma_max)^k for k = 1..T."""
        return np.arange(1, len(self.log10_norms) + 1) * math.log10(self.bound_factor)

    def to_dict(self) -> dict[str, Any]:
        """{"command": "matrix", "params": {...}, "results": {...}}; non-finite -> null."""
        norms = [_finite(float(v)) for v in self.norms]
        return {
            "command": "matrix",
            "params": asdict(self.params),
            "results": {
                "lags": list(range(1, len(norms) + 1)),
                "norms": norms,
                "log10_norms": [_finite(v) for v in self.log10_norms],
                "gamma_hat": self.gamma_hat,
                "gamma_phi": self.gamma_phi,
                "sigma_max": self.sigma_max,
                "spectral_radius": self.spectral_radius,
                "bound_factor": self.bound_factor,
                "mean_derivative": self.mean_derivative,
                "eps": self.eps,
                "horizon": self.horizon,
                "verdict": self.verdict,
                "sufficient_vanishing": self.sufficient_vanishing,
                "necessary_exploding": self.necessary_exploding,
                "conditions": list(self.conditions),
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatrixResult:
        """Inverse of ``to_dict``."""
        r = data["results"]
        return cls(
            MatrixParams(**data["params"]),
            tuple(-math.inf if v is None else v for v in r["log10_norms"]),
            r["gamma_hat"],
            r["gamma_phi"],
            r["sigma_max"],
            r["spectral_radius"],
            r["mean_derivative"],
            r["horizon"],
            r["verdict"],
            r["eps"],
            tuple(r["conditions"]),
        )

    def __repr__(self) -> str:
        return display.matrix_repr(self)

    def _repr_html_(self) -> str:
        return display.matrix_summary(self).html()

    def __rich__(self) -> Any:
        return display.matrix_summary(self).rich()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def check_params(params: MatrixParams) -> MatrixParams:
    """Validate every field (InvalidValue names the parameter) and bound the total work."""
    hidden = checks.whole("hidden_size", params.hidden_size, low=1, high=LIBRARY.hidden_size)
    steps = checks.whole("steps", params.steps, low=1, high=LIBRARY.seq_len)
    check_choice("weights", params.weights, WEIGHT_KINDS)
    check_choice("activation", params.activation, ACTIVATIONS)
    if hidden**3 * steps > MAX_WORK:
        most = max(1, MAX_WORK // hidden**3)
        raise InvalidValue(
            "steps", steps, f"at most {most} with hidden size {hidden} (hidden^3 * steps <= 2^35)"
        )
    return MatrixParams(
        hidden_size=hidden,
        rho=checks.real("rho", params.rho, low=0.0, low_open=True, high=MAX_RHO),
        weights=params.weights,
        activation=params.activation,
        slope=checked_slope(params.slope),
        steps=steps,
        input_size=checks.whole("input_size", params.input_size, low=1, high=MAX_INPUT_SIZE),
        input_scale=checks.real("input_scale", params.input_scale, low=0.0, high=1e6),
        bias=checks.real("bias", params.bias, low=-1e6, high=1e6),
        seed=checks.whole("seed", params.seed, low=0, high=2**63 - 1),
    )


def matrix_recurrence(*, method: NormMethod = "gram", **options: Any) -> MatrixResult:
    """Measure ||dh_T/dh_{T-k}||_2, k = 1..T, for h_t = phi(W h_{t-1} + U x_t + b).

    Keyword options are the fields of ``MatrixParams`` (hidden_size, rho, weights
    "gaussian"|"orthogonal", activation, slope, steps, input_size, input_scale, bias, seed).
    The Jacobian product uses the analytic J_t = diag(phi'(a_t)) W in float64 (see
    ``jacobians``); gamma_hat is ``flow.decay_factor`` of the norms; the bound is
    (sup|phi'| sigma_max(W))^k.
    """
    unknown = sorted(set(options) - set(MatrixParams.__dataclass_fields__))
    if unknown:
        raise InvalidValue(unknown[0], options[unknown[0]], "unknown option")
    params = check_params(MatrixParams(**options))
    recurrence = make_recurrence(**asdict(params))
    with blas_threads_for(params.hidden_size):
        derivatives = forward_derivatives(recurrence)  # (T, H)
        log10_norms = jacobian_log10_norms(derivatives, recurrence.weight, method=method)
        sigma_max = float(np.linalg.norm(recurrence.weight, 2))
        radius = spectral_radius(recurrence.weight)
    gamma_phi = get_activation(params.activation).sup_derivative(params.slope)
    relative = np.concatenate([[1.0], 10.0 ** np.clip(log10_norms, -300.0, 300.0)])  # r_0 = 1
    result = MatrixResult(
        params=params,
        log10_norms=tuple(float(v) for v in log10_norms),
        gamma_hat=decay_factor_log10(log10_norms),
        gamma_phi=gamma_phi,
        sigma_max=sigma_max,
        spectral_radius=radius,
        mean_derivative=float(derivatives.mean()),
        horizon=flow.horizon(relative),
        verdict=flow.verdict(relative),
    )
    return replace(result, conditions=conditions(result))


def decay_factor_log10(log10_norms: np.ndarray) -> float | None:
    """``flow.decay_factor`` of norms given as log10, valid far beyond the double range.

    decay_factor fits the slope of log(norm) against lag; dividing every log by c divides
    the slope by c, so decay_factor(norms**(1/c))**c is the same fit with c chosen to keep
    every norm**(1/c) inside the double range.
    """
    logs = np.asarray(log10_norms, dtype=np.float64) * math.log(10.0)
    finite = logs[np.isfinite(logs)]
    if finite.size < 2:
        return None
    c = max(1.0, float(np.max(np.abs(finite))) / 600.0)
    factor = flow.decay_factor(np.exp(np.where(np.isfinite(logs), logs / c, -np.inf)))
    return None if math.isnan(factor) else factor**c


def conditions(result: MatrixResult) -> tuple[str, ...]:
    """Pascanu, Mikolov and Bengio (2013)'s conditions for this W, and what was measured."""
    bound, inverse = result.bound_factor, 1.0 / result.gamma_phi
    head = f"sigma_max(W) = {format_value(result.sigma_max)}"
    if result.sufficient_vanishing:
        first = (
            f"{head} < 1/gamma_phi = {format_value(inverse)}: the sufficient condition for "
            f"vanishing holds, so ||dh_T/dh_(T-k)|| <= {format_value(bound)}^k for any input."
        )
    elif result.necessary_exploding:
        first = (
            f"{head} > 1/gamma_phi = {format_value(inverse)}: the necessary condition for "
            "exploding holds, so gradients can explode, but nothing forces them to."
        )
    else:
        first = f"{head} = 1/gamma_phi: neither condition holds; the bound stays at 1."
    second = (
        f"Spectral radius rho(W) = {format_value(result.spectral_radius)}; the conditions use "
        "the largest singular value, which is >= rho (equal for orthogonal W, about 2 rho for "
        "Gaussian W)."
    )
    gamma = "undefined" if result.gamma_hat is None else format_value(result.gamma_hat)
    reach = "beyond T" if result.horizon is None else f"{result.horizon} steps"
    third = (
        f"Measured: gamma_hat = {gamma} per step (bound {format_value(bound)}), mean phi' = "
        f"{format_value(result.mean_derivative)}, horizon {reach} at eps = "
        f"{result.eps:g}: {result.verdict}."
    )
    return first, second, third
