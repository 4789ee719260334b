"""ModelSpec: the validated description of a recurrent model that build_model builds."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from gradtrace import display
from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue, from_pydantic
from gradtrace.init import GATED_ONLY, INITIALIZERS, RNN_ONLY, SCALE_MEANING
from gradtrace.strict import StrictModel

FUSED_RNN_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")  # what torch's nn.RNN offers


class ModelSpec(StrictModel):
    """A recurrent network: cell, sizes, stacking, readout, initialisation and backend.

    Invalid values raise ValueError (gradtrace.errors.InvalidValue) with one line naming the
    field, the value and what is allowed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    cell: Literal["rnn", "lstm", "gru"] = "rnn"
    activation: Literal["tanh", "sigmoid", "relu", "leaky_relu", "prelu"] = "tanh"
    leaky_slope: float = 0.01  # leaky_relu slope; the initial per-unit slope for prelu
    input_size: int = Field(1, gt=0, le=LIBRARY.input_size)
    hidden_size: int = Field(64, gt=0, le=LIBRARY.hidden_size)
    num_layers: int = Field(1, gt=0, le=LIBRARY.num_layers)
    output_size: int = Field(1, gt=0, le=LIBRARY.input_size)
    residual: bool = False  # h^l + (input of layer l) for every layer l >= 1
    layer_norm: bool = False
    readout: Literal["last", "all", "attention"] = "last"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # between stacked layers
    init: str = "default"
    init_scale: float | None = None
    forget_bias: float | None = None
    bias: bool = True
    backend: Literal["auto", "fused", "loop"] = "auto"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise _one_line(error) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> ModelSpec:
        """Validate a mapping; errors are one-line InvalidValue like the constructor's."""
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as error:
            raise _one_line(error) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> ModelSpec:
        """Validate a JSON document; errors are one-line InvalidValue."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except ValidationError as error:
            raise _one_line(error) from None

    @field_validator("activation")
    @classmethod
    def _activation_for_rnn_only(cls, value: str, info: ValidationInfo) -> str:
        cell = info.data.get("cell")
        if value != "tanh" and cell in ("lstm", "gru"):
            raise ValueError(f"{cell} uses its own gate activations; only cell rnn takes another")
        return value

    @field_validator("leaky_slope")
    @classmethod
    def _slope_in_range(cls, value: float) -> float:
        if not (math.isfinite(value) and 0.0 <= value < 1.0):
            raise ValueError("a slope in [0, 1)")
        return value

    @field_validator("init")
    @classmethod
    def _known_init(cls, value: str, info: ValidationInfo) -> str:
        if value not in INITIALIZERS:
            raise ValueError("choose one of " + ", ".join(INITIALIZERS))
        cell = info.data.get("cell")
        if value in RNN_ONLY and cell in ("lstm", "gru"):
            raise ValueError(f"{value} is for cell rnn (IRNN); {cell} takes e.g. orthogonal")
        if value in GATED_ONLY and cell == "rnn":
            raise ValueError(f"{value} sets gate biases; use it with cell lstm or gru")
        return value

    @field_validator("init_scale")
    @classmethod
    def _scale_fits_init(cls, value: float | None, info: ValidationInfo) -> float | None:
        init = info.data.get("init")
        if value is None:
            if init == "chrono":
                raise ValueError("init chrono needs init_scale = t_max >= 2")
            return value
        if not (math.isfinite(value) and value > 0):
            raise ValueError("a finite number > 0, or unset")
        if init in SCALE_MEANING and SCALE_MEANING[init] is None:
            raise ValueError(f"init {init} takes no scale; leave it unset")
        if init == "chrono" and value < 2:
            raise ValueError("init chrono needs init_scale = t_max >= 2")
        return value

    @field_validator("forget_bias")
    @classmethod
    def _forget_bias_for_gated(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value):
            raise ValueError("a finite number, or unset")
        if info.data.get("cell") == "rnn":
            raise ValueError("forget_bias needs cell lstm or gru")
        return value

    @field_validator("backend")
    @classmethod
    def _fused_possible(cls, value: str, info: ValidationInfo) -> str:
        reason = _fused_obstacle(info.data)
        if value == "fused" and reason:
            raise ValueError(f"torch's fused kernels cannot run {reason}; use auto or loop")
        return value

    @property
    def fused(self) -> bool:
        """Whether build_model uses torch's fused nn.RNN / nn.LSTM / nn.GRU for this spec."""
        return self.backend == "fused" or (self.backend == "auto" and not _fused_obstacle(self))

    def describe(self) -> str:
        """A short human label for tables and plots, e.g. "tanh RNN H=64 orthogonal"."""
        parts = [f"{self.activation} RNN" if self.cell == "rnn" else self.cell.upper()]
        parts.append(f"H={self.hidden_size}")
        if self.num_layers > 1:
            parts.append(f"L={self.num_layers}")
        if self.residual:
            parts.append("residual")
        if self.layer_norm:
            parts.append("LN")
        if self.readout != "last":
            parts.append(self.readout)
        if self.init != "default" or self.init_scale is not None:
            parts.append(self.init + (f"({self.init_scale:g})" if self.init_scale else ""))
        if self.forget_bias is not None:
            parts.append(f"fb={self.forget_bias:g}")
        if self.dropout:
            parts.append(f"dropout={self.dropout:g}")
        return " ".join(parts)

    def key(self) -> str:
        """A stable 16-hex-digit hash of the spec's JSON (every field, defaults included)."""
        text = self.model_dump_json()
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _repr_html_(self) -> str:
        return display.spec_summary(self).html()

    def __rich__(self) -> Any:
        return display.spec_summary(self).rich()


def _one_line(error: ValidationError) -> InvalidValue:
    """The InvalidValue behind a ValidationError (pydantic wraps the constructor's own)."""
    inner = error.errors()[0].get("ctx", {}).get("error")
    return inner if isinstance(inner, InvalidValue) else from_pydantic(error)


def _fused_obstacle(fields: Any) -> str:
    """Why torch's fused kernels cannot run these fields ("" when they can)."""
    get = fields.get if isinstance(fields, dict) else lambda name: getattr(fields, name, None)
    if get("layer_norm"):
        return "layer_norm=True"
    if get("cell") == "rnn" and get("activation") not in (None, *FUSED_RNN_ACTIVATIONS):
        return f"activation {get('activation')!r} (nn.RNN has tanh and relu only)"
    return ""
