"""Request bodies of the lab's API: validated, bounded by gradtrace.bounds.WEB, no unknown keys."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from gradtrace import defaults
from gradtrace.bounds import WEB
from gradtrace.errors import InvalidValue
from gradtrace.strict import StrictModel

if TYPE_CHECKING:
    from gradtrace.models import ModelSpec

_STRICT = ConfigDict(frozen=True, extra="forbid")

Cell = Literal[
    "rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"
]
Activation = Literal["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"]
MAX_SIM_LAYERS = 1000  # gradtrace.simulate.layers.MAX_LAYERS

# The size of a probe, in "work" units: for torch's cells the multiply-adds of the recurrent
# matmuls of one forward pass (backward costs about twice that), for the others the equivalent
# time as measured on one CPU core (1 unit ~ 2e-10 s, see jobs.DEFAULT_RATE):
#   work = T*L*H*(B*(a*H + b*N) + c*H)
# a: per example and step, per H^2 (gates; projections, GLU); b: per state unit N (LRU's complex
# state, the selective SSM's (H, N) states); c: per step, once per batch (the per-step Jacobians
# diagnose takes of a declared cell: IndRNN, expRNN). At MAX_PROBE_WORK a probe answers in a few
# seconds on one CPU core and needs well under 1 GB.
MAX_PROBE_WORK = 2e10
COST: dict[str, tuple[float, float, float]] = {
    "rnn": (1, 0, 0),
    "lstm": (4, 0, 0),
    "gru": (3, 0, 0),
    "indrnn": (1, 0, 900),
    "exprnn": (2, 0, 2000),
    "lru": (5, 30, 0),
    "mingru": (6, 0, 0),
    "minlstm": (6, 0, 0),
    "selective_ssm": (5, 1500, 0),
}
WORK_FORMULA = "T*L*H*(B*(a*H + b*N) + c*H)"


class ProbeRequest(StrictModel):
    """One probe: a model built from these settings, one forward/backward on random inputs."""

    model_config = _STRICT

    cell: Cell = "rnn"
    activation: Activation | None = Field(
        default=None, description="RNN or expRNN activation; unset: modrelu for exprnn, else tanh"
    )
    init: str = Field(default="default", max_length=40)
    init_scale: float | None = Field(default=None, gt=0, le=100, allow_inf_nan=False)
    forget_bias: float | None = Field(default=None, ge=-100, le=100, allow_inf_nan=False)
    hidden_size: int = Field(default=64, ge=1, le=WEB.hidden_size)
    num_layers: int = Field(default=1, ge=1, le=WEB.num_layers)
    seq_len: int = Field(default=100, ge=2, le=WEB.seq_len)
    batch_size: int = Field(default=defaults.BATCH_SIZE, ge=1, le=WEB.batch_size)
    input_size: int = Field(default=1, ge=1, le=WEB.input_size)
    layer_norm: bool = False
    residual: bool = False
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    eps: float = Field(default=1e-3, gt=0, lt=1, allow_inf_nan=False)
    dtype: Literal["float32", "float64", "auto"] = "auto"
    task: str | None = Field(default=None, max_length=40)
    # frontier cells only (ModelSpec.FRONTIER_FIELDS); unset: the paper's default
    # (the radii's range [0, 1) is ModelSpec's check, whose message says why)
    r_min: float | None = Field(
        default=None, allow_inf_nan=False, description="LRU: smallest |lambda| at init (0.9)"
    )
    r_max: float | None = Field(
        default=None, allow_inf_nan=False, description="LRU: largest |lambda| at init (0.999)"
    )
    max_phase: float | None = Field(
        default=None,
        gt=0,
        le=2 * math.pi,
        allow_inf_nan=False,
        description="LRU: largest arg(lambda) at init (2 pi)",
    )
    state_size: int | None = Field(
        default=None,
        ge=1,
        le=WEB.hidden_size,
        description="LRU (H) and selective SSM (16): state size N",
    )
    horizon: int | None = Field(
        default=None, ge=1, le=WEB.seq_len, description="IndRNN: |u| <= 2^(1/horizon) (1000)"
    )

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str | None) -> str | None:
        from gradtrace.tasks import TASKS

        if value is not None and value not in TASKS:
            raise InvalidValue("task", value, "choose one of " + ", ".join(TASKS))
        return value

    @model_validator(mode="after")
    def _fits(self) -> ProbeRequest:
        self.model_spec()  # the library's own checks of the combination (one line each)
        work = self.work
        if work > MAX_PROBE_WORK:
            a, b, c = COST[self.cell]
            raise InvalidValue(
                "work",
                int(work),
                f"must be <= {MAX_PROBE_WORK:.0e} in the web lab, where work = {WORK_FORMULA} "
                f"and a, b, c = {a:g}, {b:g}, {c:g} for cell {self.cell}; lower one of them",
            )
        return self

    def model_spec(self) -> ModelSpec:
        """The library's ModelSpec for these settings (raises its one-line InvalidValue)."""
        from gradtrace.models import ModelSpec

        return ModelSpec(
            cell=self.cell,
            activation=self.activation,
            init=self.init,
            init_scale=self.init_scale,
            forget_bias=defaults.forget_bias_for(self.cell, self.forget_bias, self.init),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            input_size=self.input_size,
            layer_norm=self.layer_norm,
            residual=self.residual,
            r_min=self.r_min,
            r_max=self.r_max,
            max_phase=self.max_phase,
            state_size=self.state_size,
            horizon=self.horizon,
        )

    @property
    def work(self) -> float:
        """The probe's size in work units: T*L*H*(B*(a*H + b*N) + c*H), see COST."""
        a, b, c = COST[self.cell]
        state = self.state_size or STATE_DEFAULT.get(self.cell, self.hidden_size)
        state = state if b else 0
        per_step = self.batch_size * (a * self.hidden_size + b * state) + c * self.hidden_size
        return float(self.seq_len * self.num_layers * self.hidden_size) * per_step


# N where state_size is unset: the LRU's state is as wide as H, the selective SSM's is 16
STATE_DEFAULT: dict[str, int] = {"selective_ssm": 16}


SimActivation = Literal["linear", "tanh", "sigmoid", "relu", "leaky_relu"]


class DecayRequest(StrictModel):
    """The decay simulator: the gradient is multiplied by factor * sup|phi'| once per step."""

    model_config = _STRICT

    factor: float = Field(default=0.9, gt=0, le=10, allow_inf_nan=False)
    steps: int = Field(default=50, ge=1, le=WEB.seq_len)
    activation: SimActivation = "linear"


class LayersRequest(StrictModel):
    """The layer simulator: the gradient is multiplied by w * sup|phi'| once per layer."""

    model_config = _STRICT

    weight: float = Field(default=0.5, gt=0, le=10, allow_inf_nan=False)
    layers: int = Field(default=5, ge=1, le=MAX_SIM_LAYERS)
    activation: SimActivation = "linear"
