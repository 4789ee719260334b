"""How saturation shrinks the average slope: E[phi'(a)] for pre-activations a ~ N(0, sigma^2)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradtrace import display
from gradtrace.simulate import checks
from gradtrace.simulate.activations import REPORTED, checked_slope, get_activation

DEFAULT_SIGMAS = (0.25, 0.5, 1.0, 2.0, 4.0)
MAX_SIGMA = 1000.0
_NORMAL = 1.0 / math.sqrt(2.0 * math.pi)


def expected_derivative(
    name: str, sigma: float, *, slope: float | None = None, power: int = 1
) -> float:
    """E[phi'(a)**power] for a ~ N(0, sigma^2), by adaptive quadrature (scipy quad).

    The integral runs over z = a / sigma on each half-line, split at min(1, 8 / sigma) so
    that the narrow peak of tanh'/sigmoid' at large sigma is resolved; relative error ~1e-15.
    """
    from scipy import integrate

    activation = get_activation(name)
    sigma = checks.real("sigma", sigma, low=0.0, low_open=True, high=MAX_SIGMA)
    negative_slope = activation.slope_or_default(slope)

    def integrand(z: float) -> float:
        d = float(activation.derivative(np.array([sigma * z]), negative_slope)[0])
        return d**power * _NORMAL * math.exp(-0.5 * z * z)

    split = min(1.0, 8.0 / sigma)
    total = 0.0
    for sign in (1.0, -1.0):
        for low, high in ((0.0, split), (split, math.inf)):
            total += integrate.quad(
                lambda z, s=sign: integrand(s * z),
                low,
                high,
                epsabs=0.0,
                epsrel=1e-12,
                limit=200,
            )[0]
    return total


@dataclass(frozen=True)
class ActivationRow:
    """One activation: sup|phi'|, phi'(0) and the mean / rms slope for each sigma."""

    name: str
    slope: float | None  # negative-side slope for the relu family, None otherwise
    sup_derivative: float
    sup_at: str
    at_zero: float
    zero_rule: str
    mean: tuple[float, ...]  # E[phi'(a)], a ~ N(0, sigma^2), one per sigma
    rms: tuple[float, ...]  # sqrt(E[phi'(a)^2]): what random-matrix theory multiplies

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {
            "name": self.name,
            "slope": self.slope,
            "sup_derivative": self.sup_derivative,
            "sup_at": self.sup_at,
            "at_zero": self.at_zero,
            "zero_rule": self.zero_rule,
            "mean": list(self.mean),
            "rms": list(self.rms),
        }


@dataclass(frozen=True)
class ActivationReport:
    """Derivative facts of several activations over a range of pre-activation widths sigma."""

    names: tuple[str, ...]
    sigmas: tuple[float, ...]
    slope: float | None
    rows: tuple[ActivationRow, ...]

    def row(self, name: str) -> ActivationRow:
        """The row of activation ``name``."""
        return next(r for r in self.rows if r.name == name)

    def to_dict(self) -> dict[str, Any]:
        """{"command": "activations", "params": {...}, "results": {"rows": [...]}}."""
        return {
            "command": "activations",
            "params": {"names": list(self.names), "sigmas": list(self.sigmas), "slope": self.slope},
            "results": {"rows": [row.to_dict() for row in self.rows]},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActivationReport:
        """Inverse of ``to_dict``."""
        params = data["params"]
        rows = tuple(
            ActivationRow(
                r["name"],
                r["slope"],
                r["sup_derivative"],
                r["sup_at"],
                r["at_zero"],
                r["zero_rule"],
                tuple(r["mean"]),
                tuple(r["rms"]),
            )
            for r in data["results"]["rows"]
        )
        return cls(tuple(params["names"]), tuple(params["sigmas"]), params["slope"], rows)

    def __repr__(self) -> str:
        return display.activations_repr(self)

    def _repr_html_(self) -> str:
        return display.activations_summary(self).html()

    def __rich__(self) -> Any:
        return display.activations_summary(self).rich()


def activation_report(
    names: Iterable[str] = REPORTED,
    sigmas: Iterable[float] = DEFAULT_SIGMAS,
    *,
    slope: float | None = None,
) -> ActivationReport:
    """sup|phi'|, phi'(0) and E[phi'(a)], sqrt(E[phi'(a)^2]) for a ~ N(0, sigma^2).

    ``slope`` sets the negative-side slope of leaky_relu and prelu (defaults 0.01 and 0.25).
    """
    names = [get_activation(n, parameter="names").name for n in checks.listing("names", names)]
    sigmas = [
        checks.real("sigmas", s, low=0.0, low_open=True, high=MAX_SIGMA)
        for s in checks.listing("sigmas", sigmas)
    ]
    slope = checked_slope(slope)
    rows = []
    for name in names:
        activation = get_activation(name)
        used = activation.slope_or_default(slope) if activation.default_slope is not None else None
        mean = tuple(expected_derivative(name, s, slope=slope) for s in sigmas)
        rms = tuple(math.sqrt(expected_derivative(name, s, slope=slope, power=2)) for s in sigmas)
        rows.append(
            ActivationRow(
                name,
                used,
                activation.sup_derivative(slope),
                activation.sup_at,
                activation.at_zero(slope),
                activation.zero_rule,
                mean,
                rms,
            )
        )
    return ActivationReport(tuple(names), tuple(sigmas), slope, tuple(rows))
