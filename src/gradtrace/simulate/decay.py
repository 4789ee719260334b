"""The decay table: how much of a signal survives k steps at a per-step factor gamma (gamma**k)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gradtrace import display
from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue
from gradtrace.simulate import checks
from gradtrace.simulate.formatting import format_log10, format_param, format_value

Regime = Literal["vanishing", "exploding", "constant"]
SAFE_LOG10 = 307.0  # beyond this a double cannot hold 10**x; the table uses the log10 instead
SEED_FACTORS = (0.9, 0.7, 0.5, 0.3)
SEED_STEPS = (10, 20, 50)


def regime_of(factor: float) -> Regime:
    """vanishing below 1, exploding above 1, constant at exactly 1."""
    return "vanishing" if factor < 1 else "exploding" if factor > 1 else "constant"


def magnitude(factor: float, steps: int) -> tuple[float | None, float, str]:
    """(value or None beyond the double range, log10 value, printed text) of factor**steps.

    Portable rule: log10 = steps * log10(factor); when |log10| < 307 the value is
    factor ** steps and prints with ``format_value``; otherwise ``format_log10(log10)``.
    """
    log10 = steps * math.log10(factor)
    if abs(log10) < SAFE_LOG10:
        value = factor**steps
        return value, log10, format_value(value)
    return None, log10, format_log10(log10)


@dataclass(frozen=True)
class StepsUntil:
    """Steps until a decaying signal drops below eps (or a growing one exceeds 1/eps)."""

    factor: float
    eps: float
    regime: Regime
    exact: float | None  # ln(eps) / ln(factor) for decay, ln(1/eps) / ln(factor) for growth
    steps: int | None  # first whole step strictly past ``exact``; None: never (factor == 1)

    @property
    def text(self) -> str:
        """One sentence, e.g. 'falls below 0.001 after 66 steps (ln eps / ln gamma = 65.6)'."""
        eps = format_param(self.eps)
        if self.steps is None:
            return f"never falls below {eps} nor exceeds {format_param(1 / self.eps)}"
        if self.regime == "vanishing":
            return (
                f"falls below {eps} after {self.steps} steps "
                f"(ln eps / ln gamma = {format_value(self.exact or 0.0)})"
            )
        return (
            f"exceeds 1/eps = {format_param(1 / self.eps)} after {self.steps} steps "
            f"(ln(1/eps) / ln gamma = {format_value(self.exact or 0.0)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the text included)."""
        return {
            "factor": self.factor,
            "eps": self.eps,
            "regime": self.regime,
            "exact": self.exact,
            "steps": self.steps,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepsUntil:
        """Inverse of ``to_dict``."""
        return cls(data["factor"], data["eps"], data["regime"], data["exact"], data["steps"])


def steps_until(factor: float, eps: float = 1e-3) -> StepsUntil:
    """Steps until factor**k falls below eps (factor < 1) or exceeds 1/eps (factor > 1).

    The exact crossing is x = ln(eps) / ln(factor) (growth: ln(1/eps) / ln(factor)); the whole
    step count is floor(x) + 1, the first step strictly past it. factor == 1 never crosses.
    """
    factor = checks.real("factor", factor, low=0.0, low_open=True)
    eps = checks.real("eps", eps, low=0.0, low_open=True)
    if eps >= 1:
        raise InvalidValue("eps", eps, "must be between 0 and 1 (exclusive)")
    regime = regime_of(factor)
    if regime == "constant":
        return StepsUntil(factor, eps, regime, None, None)
    target = math.log(eps) if regime == "vanishing" else -math.log(eps)
    exact = target / math.log(factor)
    return StepsUntil(factor, eps, regime, exact, math.floor(exact) + 1)


@dataclass(frozen=True)
class DecayRow:
    """factor**k for every requested k: values (None beyond the double range), log10, text."""

    factor: float
    regime: Regime
    values: tuple[float | None, ...]
    log10: tuple[float, ...]
    text: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {
            "factor": self.factor,
            "regime": self.regime,
            "values": list(self.values),
            "log10": list(self.log10),
            "text": list(self.text),
        }


@dataclass(frozen=True)
class DecayTable:
    """The decay table: one row per factor, one column per step count (plus steps-until)."""

    factors: tuple[float, ...]
    steps: tuple[int, ...]
    rows: tuple[DecayRow, ...]
    eps: float | None = None
    until: tuple[StepsUntil, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """{"command": "decay", "params": {...}, "results": {"rows": [...], "until": [...]}}."""
        return {
            "command": "decay",
            "params": {"factors": list(self.factors), "steps": list(self.steps), "eps": self.eps},
            "results": {
                "rows": [row.to_dict() for row in self.rows],
                "until": [item.to_dict() for item in self.until],
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecayTable:
        """Inverse of ``to_dict``."""
        params, results = data["params"], data["results"]
        rows = tuple(
            DecayRow(
                r["factor"], r["regime"], tuple(r["values"]), tuple(r["log10"]), tuple(r["text"])
            )
            for r in results["rows"]
        )
        until = tuple(StepsUntil.from_dict(u) for u in results["until"])
        return cls(tuple(params["factors"]), tuple(params["steps"]), rows, params["eps"], until)

    def __repr__(self) -> str:
        return display.decay_repr(self)

    def _repr_html_(self) -> str:
        return display.decay_summary(self).html()

    def __rich__(self) -> Any:
        return display.decay_summary(self).rich()


def decay_table(
    factors: Sequence[float] | Iterable[float] = SEED_FACTORS,
    steps: Sequence[int] | Iterable[int] = SEED_STEPS,
    *,
    until: float | None = None,
) -> DecayTable:
    """gamma**k for every factor gamma > 0 and step count k >= 1; ``until`` adds steps_until(eps).

    The defaults are the classic table: factors 0.9, 0.7, 0.5, 0.3 after 10, 20 and 50 steps.
    """
    factors = [
        checks.real("factors", f, low=0.0, low_open=True)
        for f in checks.listing("factors", factors)
    ]
    steps = [
        checks.whole("steps", k, low=1, high=LIBRARY.seq_len)
        for k in checks.listing("steps", steps)
    ]
    if until is not None:
        steps_until(1.0, until)  # validates eps before any work
    rows = []
    for factor in factors:
        cells = [magnitude(factor, k) for k in steps]
        rows.append(
            DecayRow(
                factor,
                regime_of(factor),
                tuple(c[0] for c in cells),
                tuple(c[1] for c in cells),
                tuple(c[2] for c in cells),
            )
        )
    found = tuple(steps_until(f, until) for f in factors) if until is not None else ()
    return DecayTable(tuple(factors), tuple(steps), tuple(rows), until, found)
