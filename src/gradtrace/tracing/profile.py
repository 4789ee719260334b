"""GradientProfile: the measured g_t of every recurrent layer and direction, as a plain record.

g_t is the mean over the batch of the per-example L2 norm of dL/dh_t (the total gradient that
reaches h_t: through the recurrence and the direct path); LSTM layers also carry the same for
the cell state c_t. Arrays are in time order t = 1..T. A reverse direction (direction 1) runs
from t = T down to t = 1, so its last step is t = 1 and its lag k counts from there.

JSON: numbers that are not finite are written as the strings "nan", "inf" and "-inf" (JSON has
no such numbers); ``from_dict`` reads those strings, plain numbers and null (as nan).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradtrace import display, flow
from gradtrace.errors import InvalidValue

_RANK = {verdict: rank for rank, verdict in enumerate(flow.VERDICTS)}  # 0 = worst
_FIELDS = ("name", "kind", "layer", "direction", "g", "g_cell")


def _encode(values: np.ndarray | None) -> list[float | str] | None:
    if values is None:
        return None
    return [float(v) if math.isfinite(v) else str(float(v)) for v in values.tolist()]


def _decode(values: Any, field: str) -> np.ndarray:
    if not isinstance(values, list):
        raise InvalidValue(field, values, "a list of numbers")
    decoded = []
    for value in values:
        if value is None:
            decoded.append(math.nan)
        elif isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                decoded.append(float(value))
            except ValueError:
                raise InvalidValue(field, value, 'numbers or "nan", "inf", "-inf"') from None
        else:
            raise InvalidValue(field, value, 'numbers or "nan", "inf", "-inf"')
    return np.asarray(decoded, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LayerProfile:
    """g_t of one recurrent layer and direction (arrays in time order t = 1..T)."""

    name: str  # "encoder.l0", "encoder.l1.reverse", a cell's module path, ...
    kind: str  # "rnn" | "lstm" | "gru"
    layer: int
    direction: int  # 0 forward, 1 reverse
    g: np.ndarray  # (T,) mean per-example ||dL/dh_t||
    g_cell: np.ndarray | None = None  # (T,) the same for the LSTM cell state c_t

    @property
    def seq_len(self) -> int:
        """Number of time steps T."""
        return int(self.g.size)

    @property
    def by_lag(self) -> np.ndarray:
        """g by lag k = 0..T-1 from this direction's last step."""
        return self.g.astype(np.float64).copy() if self.direction else flow.by_lag(self.g)

    @property
    def relative(self) -> np.ndarray:
        """r_k = g at lag k / g at lag 0 (the direction's last step)."""
        return flow.relative_profile(self.g[::-1] if self.direction else self.g)

    @property
    def decay_factor(self) -> float:
        """gamma_hat: exp of the least-squares slope of log g against lag (nan if undefined)."""
        return flow.decay_factor(self.by_lag)

    def horizon(self, eps: float = flow.DEFAULT_EPS) -> int | None:
        """First lag with r_k < eps, or None ("beyond T")."""
        return flow.horizon(self.relative, eps)

    def verdict(self, eps: float = flow.DEFAULT_EPS) -> flow.Verdict:
        """non-finite | exploding | vanishing | healthy (see gradtrace.flow.verdict)."""
        return flow.verdict(self.relative, eps)

    def describe(self, eps: float = flow.DEFAULT_EPS) -> str:
        """One sentence on how the gradient fares going back in time through this layer."""
        lags, relative = self.seq_len - 1, self.relative
        if not np.all(np.isfinite(self.g)):
            return f"{self.name}: some gradient norms are not finite (nan or inf)"
        if not np.all(np.isfinite(relative)):
            return f"{self.name}: no gradient reaches its last step, so nothing to compare with"
        if lags < 1:
            return f"{self.name}: one step only, no decay to measure"
        gamma, reach = self.decay_factor, self.horizon(eps)
        if not math.isfinite(gamma):
            text = f"{self.name}: the gradient is zero at every step but the last"
        elif gamma <= 1.0:
            left = flow.remaining_after(gamma, lags)
            text = f"{self.name}: keeps {gamma:.3g} of the signal per step; after {lags} steps"
            text += f" {left:.2g} remains"
        else:
            text = f"{self.name}: grows by a factor {gamma:.3g} per step; after {lags} steps"
            text += f" it is {flow.remaining_after(gamma, lags):.3g} times larger"
        text += f" (measured {relative[-1]:.2g})"
        if reach is not None:
            text += f"; below {eps:g} of its last-step size from {reach} steps back"
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (non-finite numbers as strings, see the module docstring)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "layer": self.layer,
            "direction": self.direction,
            "g": _encode(self.g),
            "g_cell": _encode(self.g_cell),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerProfile:
        """Inverse of to_dict; a missing or unknown key raises InvalidValue."""
        if not isinstance(data, dict):
            raise InvalidValue("layer", type(data).__name__, "a dict made by to_dict()")
        missing = [key for key in _FIELDS[:5] if key not in data]
        unknown = [key for key in data if key not in _FIELDS]
        if missing or unknown:
            bad = missing[0] if missing else unknown[0]
            raise InvalidValue("layer", bad, "keys " + ", ".join(_FIELDS) + " (g_cell optional)")
        g_cell = data.get("g_cell")
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            layer=int(data["layer"]),
            direction=int(data["direction"]),
            g=_decode(data["g"], "g"),
            g_cell=None if g_cell is None else _decode(g_cell, "g_cell"),
        )

    def __repr__(self) -> str:
        return display.layer_repr(self)

    def _repr_html_(self) -> str:
        return display.layer_summary(self).html()

    def __rich__(self) -> Any:
        return display.layer_summary(self).rich()


@dataclass(eq=False)
class GradientProfile:
    """The LayerProfile of every traced recurrent layer and direction, in model order."""

    layers: list[LayerProfile]

    @property
    def names(self) -> list[str]:
        """Layer names in order."""
        return [layer.name for layer in self.layers]

    def layer(self, name: str) -> LayerProfile:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InvalidValue("name", name, "one of " + ", ".join(self.names))

    def verdict(self, eps: float = flow.DEFAULT_EPS) -> flow.Verdict:
        """The worst layer verdict: non-finite > exploding > vanishing > healthy."""
        if not self.layers:
            return "non-finite"
        return min((layer.verdict(eps) for layer in self.layers), key=_RANK.__getitem__)

    def summary(self, eps: float = flow.DEFAULT_EPS) -> list[dict[str, Any]]:
        """One row per layer: sizes, end-point norms, decay factor, horizon and verdict."""
        rows = []
        for layer in self.layers:
            lagged = layer.by_lag
            rows.append(
                {
                    "name": layer.name,
                    "kind": layer.kind,
                    "layer": layer.layer,
                    "direction": layer.direction,
                    "seq_len": layer.seq_len,
                    "g_last": float(lagged[0]),
                    "g_first": float(lagged[-1]),
                    "decay_factor": layer.decay_factor,
                    "horizon": layer.horizon(eps),
                    "verdict": layer.verdict(eps),
                }
            )
        return rows

    def describe(self, eps: float = flow.DEFAULT_EPS) -> str:
        """One sentence per layer (see LayerProfile.describe), one per line."""
        return "\n".join(layer.describe(eps) for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: {"layers": [LayerProfile.to_dict(), ...]}."""
        return {"layers": [layer.to_dict() for layer in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradientProfile:
        """Inverse of to_dict."""
        if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
            raise InvalidValue("profile", type(data).__name__, 'a dict {"layers": [...]}')
        return cls([LayerProfile.from_dict(layer) for layer in data["layers"]])

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of to_dict() (strict JSON: non-finite numbers become strings)."""
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> GradientProfile:
        """Inverse of to_json."""
        return cls.from_dict(json.loads(text))

    def plot(self, path: Any = None, ax: Any = None) -> Any:
        """g against lag on a log scale, one line per layer (dashed: LSTM cell state).

        Draws on ``ax`` when given, else on a new matplotlib Figure (Agg, no pyplot state);
        saves to ``path`` when given. Returns the Figure.
        """
        from gradtrace.tracing.figure import plot_profile

        return plot_profile(self, path=path, ax=ax)

    def __repr__(self) -> str:
        return display.profile_repr(self)

    def _repr_html_(self) -> str:
        return display.profile_summary(self).html()

    def __rich__(self) -> Any:
        return display.profile_summary(self).rich()
