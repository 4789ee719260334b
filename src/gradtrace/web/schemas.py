"""Request bodies of the lab's API: validated, bounded by gradtrace.bounds.WEB, no unknown keys."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from gradtrace import defaults
from gradtrace.bounds import WEB
from gradtrace.errors import InvalidValue
from gradtrace.strict import StrictModel

_STRICT = ConfigDict(frozen=True, extra="forbid")

Cell = Literal["rnn", "lstm", "gru"]
Activation = Literal["tanh", "sigmoid", "relu", "leaky_relu", "prelu"]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
MAX_SIM_LAYERS = 1000  # gradtrace.simulate.layers.MAX_LAYERS

# multiply-adds of one probe's recurrent matmuls, forward (backward costs about twice that);
# at this size a probe answers in a few seconds on one CPU core and needs well under 1 GB.
MAX_PROBE_WORK = 2e10


class ProbeRequest(StrictModel):
    """One probe: a model built from these settings, one forward/backward on random inputs."""

    model_config = _STRICT

    cell: Cell = "rnn"
    activation: Activation = "tanh"
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
    dtype: Literal["float32", "float64"] = "float64"
    task: str | None = Field(default=None, max_length=40)

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str | None) -> str | None:
        from gradtrace.tasks import TASKS

        if value is not None and value not in TASKS:
            raise InvalidValue("task", value, "choose one of " + ", ".join(TASKS))
        return value

    @model_validator(mode="after")
    def _fits(self) -> ProbeRequest:
        if self.cell != "rnn" and self.activation != "tanh":
            raise InvalidValue("activation", self.activation, f"{self.cell} cells use tanh")
        if self.cell == "rnn" and self.forget_bias is not None:
            raise InvalidValue("forget_bias", self.forget_bias, "only lstm and gru cells have one")
        work = self.work
        if work > MAX_PROBE_WORK:
            raise InvalidValue(
                "batch_size*seq_len*num_layers*gates*hidden_size^2",
                int(work),
                f"must be <= {MAX_PROBE_WORK:.0e} in the web lab; lower one of them",
            )
        return self

    @property
    def work(self) -> float:
        """Multiply-adds of the recurrent matmuls of one forward pass."""
        gates = GATES[self.cell]
        return float(self.batch_size * self.seq_len * self.num_layers * gates) * self.hidden_size**2


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
