"""The layer simulator: with weight scale w, the gradient at layer i of L is w**(L - i)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from gradtrace import display
from gradtrace.simulate import checks
from gradtrace.simulate.decay import magnitude
from gradtrace.simulate.formatting import format_param

LayerVerdict = Literal["vanishing", "stable", "exploding"]
MAX_LAYERS = 1000
DEFAULT_BAND = 10.0

RULE = (
    "the verdict compares layer 1 with layer L: vanishing when layer 1 gets less than 1/band of "
    "the last layer's gradient (ratio w**(L-1) < 1/band), exploding when it gets more than band "
    "times as much, stable in between; band = 10 means one order of magnitude either way"
)


@dataclass(frozen=True)
class LayerGradient:
    """The gradient reaching one layer, relative to the last layer's (which is 1)."""

    layer: int  # 1..L, 1 is the first (farthest from the loss)
    exponent: int  # L - layer
    value: float | None  # w**exponent; None beyond the double range
    log10: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {
            "layer": self.layer,
            "exponent": self.exponent,
            "value": self.value,
            "log10": self.log10,
            "text": self.text,
        }


@dataclass(frozen=True)
class LayerGradients:
    """Relative gradients by layer, the first/last ratio and the verdict of ``RULE``."""

    weight_scale: float
    num_layers: int
    band: float
    layers: tuple[LayerGradient, ...]
    verdict: LayerVerdict

    @property
    def ratio(self) -> LayerGradient:
        """Layer 1's gradient relative to layer L's: w**(L-1)."""
        return self.layers[0]

    @property
    def summary(self) -> str:
        """One line: 'w = 0.5, 5 layers: layer 1 gets 0.0625 of layer 5's gradient: vanishing'."""
        return (
            f"w = {format_param(self.weight_scale)}, {self.num_layers} layers: layer 1 gets "
            f"{self.ratio.text} x layer {self.num_layers}'s gradient -> {self.verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """{"command": "layers", "params": {...}, "results": {"layers", "ratio", "verdict"}}."""
        return {
            "command": "layers",
            "params": {
                "weight_scale": self.weight_scale,
                "num_layers": self.num_layers,
                "band": self.band,
            },
            "results": {
                "layers": [layer.to_dict() for layer in self.layers],
                "ratio": self.ratio.value,
                "ratio_log10": self.ratio.log10,
                "ratio_text": self.ratio.text,
                "verdict": self.verdict,
                "rule": RULE,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerGradients:
        """Inverse of ``to_dict``."""
        params, results = data["params"], data["results"]
        layers = tuple(
            LayerGradient(d["layer"], d["exponent"], d["value"], d["log10"], d["text"])
            for d in results["layers"]
        )
        return cls(
            params["weight_scale"],
            params["num_layers"],
            params["band"],
            layers,
            results["verdict"],
        )

    def __repr__(self) -> str:
        return display.layers_repr(self)

    def _repr_html_(self) -> str:
        return display.layers_summary(self).html()

    def __rich__(self) -> Any:
        return display.layers_summary(self).rich()


def layer_gradients(
    weight_scale: float, num_layers: int = 5, *, band: float = DEFAULT_BAND
) -> LayerGradients:
    """Gradient at layer i = 1..L proportional to w**(L - i), with a verdict (see ``RULE``).

    Portable rule (the web port repeats it): value and text of w**(L - i) come from
    ``decay.magnitude(w, L - i)``; verdict from log10(ratio) = (L - 1) * log10(w) against
    +-log10(band).
    """
    weight_scale = checks.real("weight_scale", weight_scale, low=0.0, low_open=True)
    num_layers = checks.whole("num_layers", num_layers, low=1, high=MAX_LAYERS)
    band = checks.real("band", band, low=1.0, low_open=True)
    layers = []
    for layer in range(1, num_layers + 1):
        value, log10, text = magnitude(weight_scale, num_layers - layer)
        layers.append(LayerGradient(layer, num_layers - layer, value, log10, text))
    return LayerGradients(
        weight_scale, num_layers, band, tuple(layers), layer_verdict(layers[0].log10, band)
    )


def layer_verdict(ratio_log10: float, band: float = DEFAULT_BAND) -> LayerVerdict:
    """vanishing below 1/band, exploding above band, stable within (compared in log10)."""
    limit = math.log10(band)
    if ratio_log10 < -limit:
        return "vanishing"
    if ratio_log10 > limit:
        return "exploding"
    return "stable"
