"""ModelSpec: the validated description of a recurrent model that build_model builds."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from gradtrace import display
from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue, from_pydantic
from gradtrace.init import GATED_ONLY, INITIALIZERS, RNN_ONLY, SCALE_MEANING
from gradtrace.strict import StrictModel

FUSED_RNN_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")  # what torch's nn.RNN offers
TORCH_CELLS: tuple[str, ...] = ("rnn", "lstm", "gru")
# the modern recurrences of gradtrace.models.frontier (one module each; see FRONTIER there)
FRONTIER_CELLS: tuple[str, ...] = ("indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm")
# field -> the frontier cells it applies to; unset (None) means the paper's default
FRONTIER_FIELDS: dict[str, tuple[str, ...]] = {
    "r_min": ("lru",),
    "r_max": ("lru",),
    "max_phase": ("lru",),
    "state_size": ("lru", "selective_ssm"),
    "horizon": ("indrnn",),
}


class ModelSpec(StrictModel):
    """A recurrent network: cell, sizes, stacking, readout, initialisation and backend.

    Invalid values raise ValueError (gradtrace.errors.InvalidValue) with one line naming the
    field, the value and what is allowed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    cell: Literal[
        "rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"
    ] = "rnn"
    # left out or None: the cell's own, modReLU for exprnn (as in its paper), tanh for the rest
    activation: Literal["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"] = "tanh"
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
    # frontier cells only (see FRONTIER_FIELDS); unset = the paper's default
    r_min: float | None = None  # LRU ring: smallest |lambda| at init (default 0.9)
    r_max: float | None = None  # LRU ring: largest |lambda| at init (default 0.999)
    max_phase: float | None = None  # LRU ring: largest arg(lambda) at init (default 2 pi)
    state_size: int | None = Field(None, gt=0, le=LIBRARY.hidden_size)  # LRU N, SSM N
    horizon: int | None = Field(None, gt=0, le=LIBRARY.seq_len)  # IndRNN: |u| <= 2^(1/horizon)

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

    @model_validator(mode="before")
    @classmethod
    def _cell_default_activation(cls, data: Any) -> Any:
        """An activation left out (or None) is the cell's own: modReLU for exprnn, else tanh."""
        if isinstance(data, dict) and data.get("activation") is None:
            data = {key: value for key, value in data.items() if key != "activation"}
            if data.get("cell") == "exprnn":
                data["activation"] = "modrelu"
        return data

    @field_validator("activation")
    @classmethod
    def _activation_for_rnn_only(cls, value: str, info: ValidationInfo) -> str:
        cell = info.data.get("cell")
        if cell == "exprnn":
            if value not in ("tanh", "modrelu"):
                raise ValueError("exprnn takes modrelu (the paper's) or tanh")
            return value
        if value == "modrelu":
            raise ValueError("modrelu is for cell exprnn")
        if value != "tanh" and cell != "rnn":
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
        if cell in FRONTIER_CELLS and value != "default":
            raise ValueError(f"{cell} has its paper's own initialization; use default")
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
        if info.data.get("cell") not in ("lstm", "gru"):
            raise ValueError("forget_bias needs cell lstm or gru")
        return value

    @field_validator("layer_norm")
    @classmethod
    def _layer_norm_for_torch_cells(cls, value: bool, info: ValidationInfo) -> bool:
        cell = info.data.get("cell")
        if value and cell in FRONTIER_CELLS:
            raise ValueError(f"layer_norm is for cells rnn, lstm, gru ({cell} has its own form)")
        return value

    @field_validator("r_min", "r_max", "max_phase", "state_size", "horizon")
    @classmethod
    def _frontier_field(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            # r_max unset: the default 0.999 must still lie above a given r_min
            r_min = info.data.get("r_min")
            if info.field_name == "r_max" and r_min is not None and r_min >= LRU_DEFAULTS["r_max"]:
                raise InvalidValue(
                    "r_min", r_min, f"a radius below r_max = {LRU_DEFAULTS['r_max']:g}"
                )
            return value
        cells = FRONTIER_FIELDS[info.field_name]
        if info.data.get("cell") not in cells:
            raise ValueError(f"{info.field_name} is for cell {' or '.join(cells)}; leave it unset")
        if info.field_name in ("r_min", "r_max") and not (
            math.isfinite(value) and 0.0 <= value < 1.0
        ):
            raise ValueError("a radius in [0, 1) (|lambda| = 1 or more is unstable)")
        if info.field_name == "r_max" and value <= _lru_default(info.data, "r_min"):
            raise ValueError(f"a radius above r_min = {_lru_default(info.data, 'r_min'):g}")
        if info.field_name == "max_phase" and not (math.isfinite(value) and 0 < value <= TWO_PI):
            raise ValueError("a phase in (0, 2 pi]")
        return value

    @field_validator("backend")
    @classmethod
    def _fused_possible(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("cell") in FRONTIER_CELLS:
            if value == "fused":
                raise ValueError(
                    f"{info.data['cell']} has no fused kernel; use auto (scan) or loop"
                )
            return value
        reason = _fused_obstacle(info.data)
        if value == "fused" and reason:
            raise ValueError(f"torch's fused kernels cannot run {reason}; use auto or loop")
        return value

    @property
    def fused(self) -> bool:
        """Whether build_model uses torch's fused nn.RNN / nn.LSTM / nn.GRU for this spec."""
        if self.cell in FRONTIER_CELLS:
            return False
        return self.backend == "fused" or (self.backend == "auto" and not _fused_obstacle(self))

    @property
    def frontier(self) -> bool:
        """Whether the cell is one of gradtrace.models.frontier's (not torch's layout)."""
        return self.cell in FRONTIER_CELLS

    def lru_ring(self) -> tuple[float, float, float]:
        """(r_min, r_max, max_phase) of the LRU's initialization, defaults filled in."""
        return (
            _lru_default(self, "r_min"),
            _lru_default(self, "r_max"),
            _lru_default(self, "max_phase"),
        )

    def describe(self) -> str:
        """A short human label for tables and plots, e.g. "tanh RNN H=64 orthogonal"."""
        if self.cell == "rnn":
            parts = [f"{self.activation} RNN"]
        else:
            parts = [FRONTIER_LABELS.get(self.cell, self.cell.upper())]
            if self.cell == "exprnn":
                parts.append(self.activation)
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
        for name in FRONTIER_FIELDS:
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name):g}")
        return " ".join(parts)

    def key(self) -> str:
        """A stable 16-hex-digit hash of the spec's JSON (every field, defaults included)."""
        # frontier fields left unset are left out, so specs written before they existed keep
        # their keys
        unset = {name for name in FRONTIER_FIELDS if getattr(self, name) is None}
        text = self.model_dump_json(exclude=unset)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _repr_html_(self) -> str:
        return display.spec_summary(self).html()

    def __rich__(self) -> Any:
        return display.spec_summary(self).rich()


TWO_PI = 2 * math.pi
LRU_DEFAULTS: dict[str, float] = {"r_min": 0.9, "r_max": 0.999, "max_phase": TWO_PI}
FRONTIER_LABELS: dict[str, str] = {
    "indrnn": "IndRNN",
    "exprnn": "expRNN",
    "lru": "LRU",
    "mingru": "minGRU",
    "minlstm": "minLSTM",
    "selective_ssm": "selective SSM",
}


def _lru_default(fields: Any, name: str) -> float:
    """An LRU ring field's value, or the default where it is unset."""
    value = fields.get(name) if isinstance(fields, dict) else getattr(fields, name, None)
    return LRU_DEFAULTS[name] if value is None else float(value)


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
