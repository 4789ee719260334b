"""Alerts: what they hold, how they reach the user (logging and warnings), and de-duplication."""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass

from gradtrace._stack import user_stacklevel

logger = logging.getLogger("gradtrace")  # gradtrace/__init__.py gives it a NullHandler


# how each kind reads in a message; the others read "<kind> gradient in <where>"
_LABELS = {
    "saturated": "saturated units",
    "dead-units": "dead units",
    "subnormal": "subnormal gradients",
    "clip-rate": "constant clipping",
}


class GradtraceWarning(UserWarning):
    """The warning category of monitor alerts (filter it with ``warnings.simplefilter``)."""


class NonFiniteGradient(FloatingPointError):
    """A gradient norm was nan or inf and the monitor was told to raise (on_nonfinite="raise")."""

    def __init__(self, step: int, parameters: list[str]) -> None:
        self.step = step
        self.parameters = list(parameters)
        shown = ", ".join(parameters[:8]) + (" ..." if len(parameters) > 8 else "")
        super().__init__(
            f"step {step}: non-finite gradient in {len(parameters)} parameter(s): {shown}"
        )


@dataclass
class Alert:
    """One finding: on which step, of what kind, where, the number behind it and what to do."""

    step: int
    kind: str  # non-finite | exploding | vanishing | subnormal | clip-rate | saturated | dead-units
    where: str  # "global", a layer name or a parameter name
    value: float  # the measured number (a norm, a ratio, a fraction, a horizon)
    reference: float  # what it was compared with (a median, an early level, a threshold)
    finding: str  # one sentence with the numbers
    advice: str  # what to change
    repeats: int = 0  # alerts of the same kind and place held back since the last one shown

    @property
    def message(self) -> str:
        """The one-line text shown to the user."""
        again = f" ({self.repeats} similar held back)" if self.repeats else ""
        head = (
            f"step {self.step}: {_LABELS.get(self.kind, self.kind + ' gradient')} in {self.where}"
        )
        return f"{head}: {self.finding}{again}. Fix: {self.advice}"

    def to_dict(self) -> dict:
        """The alert as a plain dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Alert:
        """Rebuild an alert from ``to_dict`` output."""
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("value", "reference"):
            if isinstance(fields.get(key), str):
                fields[key] = float(fields[key])
        return cls(**fields)


class AlertGate:
    """Lets an alert through unless one of the same kind and place was shown < ``cooldown`` ago."""

    def __init__(self, *, cooldown: int) -> None:
        self.cooldown = cooldown
        self._last: dict[tuple[str, str], int] = {}
        self._held: dict[tuple[str, str], int] = {}

    def admit(self, alert: Alert) -> bool:
        """True when ``alert`` should be shown; it then carries the count of those held back."""
        key = (alert.kind, alert.where)
        last = self._last.get(key)
        if last is not None and alert.step - last < self.cooldown:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        alert.repeats = self._held.pop(key, 0)
        self._last[key] = alert.step
        return True


def emit(alert: Alert, *, warn: bool = True) -> None:
    """Send an alert to the "gradtrace" logger and, when ``warn``, as a GradtraceWarning."""
    logger.warning(alert.message)
    if warn:
        warnings.warn(alert.message, GradtraceWarning, stacklevel=user_stacklevel())


def fmt(value: float) -> str:
    """A number in at most 3 significant digits, readable for norms from 1e-30 to 1e30."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"
