"""TrainSpec: the validated, frozen description of how to train one model on one task."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError

from gradtrace import defaults, display
from gradtrace.bounds import LIBRARY
from gradtrace.errors import from_pydantic
from gradtrace.strict import StrictModel

Optimizer = Literal["adam", "rmsprop", "sgd"]
Clip = Literal["none", "norm", "value"]
Device = Literal["auto", "cpu", "cuda"]


class TrainSpec(StrictModel):
    """Optimizer, clipping, truncated BPTT, budgets, evaluation and reproducibility settings.

    - clip "norm" rescales the whole gradient to global L2 norm <= clip_value
      (torch.nn.utils.clip_grad_norm_); "value" clamps every entry to [-clip_value, clip_value]
      (clip_grad_value_).
    - tbptt=k: gradients flow back at most k steps (chunks of k steps, hidden state carried
      detached between chunks); None is full backpropagation through time.
    - the budget is max_steps; max_seconds is only a safety cap: a run it stops before
      max_steps ends with status "out_of_time" (never "unsolved"), so the same specs give the
      same outcome on any machine unless the cap is hit.
    - a run stops at max_steps, after max_seconds of training, or when the held-out metric
      (evaluated every eval_every steps on eval_batch_size examples) meets the task's criterion.
    - vanishing_reg: weight of Pascanu et al. (2013)'s regularizer Omega added to the loss
      (`gradtrace.training.regularizer`; single-layer simple RNNs, full BPTT); 0 is off.
    - profiles: trace one training step at the start, middle and end of the run.
    - threads: torch intra-op threads during the run (None leaves the caller's setting); small
      recurrent models run fastest on one thread per process.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    optimizer: Optimizer = "adam"
    lr: float = Field(default=defaults.LR, gt=0, allow_inf_nan=False)
    momentum: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False)
    batch_size: int = Field(default=defaults.BATCH_SIZE, ge=1, le=LIBRARY.batch_size)
    clip: Clip = "none"
    clip_value: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    tbptt: int | None = Field(default=None, ge=1, le=LIBRARY.seq_len)
    vanishing_reg: float = Field(default=0.0, ge=0, le=1e6, allow_inf_nan=False)
    max_steps: int = Field(default=1000, ge=1, le=LIBRARY.steps)
    max_seconds: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    eval_every: int = Field(default=50, ge=1, le=LIBRARY.steps)
    eval_batch_size: int = Field(default=defaults.EVAL_BATCH_SIZE, ge=1, le=LIBRARY.batch_size)
    seed: int = Field(default=0, ge=0, lt=2**63)
    profiles: bool = True
    threads: int | None = Field(default=None, ge=1, le=1024)
    device: Device = "auto"

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise from_pydantic(e) from None

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-able values."""
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSpec:
        """Inverse of `to_dict` (unknown keys are errors)."""
        return cls(**data)

    def _repr_html_(self) -> str:
        return display.spec_summary(self).html()

    def __rich__(self) -> Any:
        return display.spec_summary(self).rich()
