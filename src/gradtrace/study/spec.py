"""StudySpec: named architecture variants (and/or a grid) crossed with tasks, lengths and seeds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from gradtrace import defaults
from gradtrace.bounds import LIBRARY
from gradtrace.errors import InvalidValue
from gradtrace.strict import StrictModel
from gradtrace.study.tune_spec import TuneSpec

Cell = Literal[
    "rnn", "lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"
]
Activation = Literal["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"]
Readout = Literal["last", "attention"]  # tasks that answer at every step force "all"
Clip = Literal["none", "norm", "value"]
Optimizer = Literal["adam", "rmsprop", "sgd"]

MAX_RUNS = 20_000  # its dry run plans in a few seconds; 100,000 took half a minute
MAX_SECONDS_PER_RUN = 7 * 24 * 3600.0
MAX_LIST = 1000
# used when gradtrace.init is not importable (the registry there is the authority)
FALLBACK_INITS = (
    "default",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he",
    "orthogonal",
    "identity",
    "spectral",
    "chrono",
)

_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class FieldError(InvalidValue):
    """An error found by a cross-field check, naming the field it is about (relative path)."""

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        super().__init__(field, value, allowed)
        self.field = field


def known_inits() -> tuple[str, ...]:
    """Names of the recurrent initializers (gradtrace.init.INITIALIZERS when importable)."""
    try:
        from gradtrace.init import INITIALIZERS
    except ImportError:
        return FALLBACK_INITS
    return tuple(INITIALIZERS)


def known_tasks() -> tuple[str, ...] | None:
    """Names of the registered tasks, or None when gradtrace.tasks is not importable."""
    try:
        from gradtrace.tasks import TASKS
    except ImportError:
        return None
    return tuple(TASKS)


def _check_init(value: str | None) -> str | None:
    names = known_inits()
    if value is not None and value not in names:
        raise InvalidValue("init", value, "choose one of " + ", ".join(names))
    return value


def activation_fits(cell: str, activation: str) -> bool:
    """Whether ``cell`` takes ``activation``: rnn any but modrelu, exprnn modrelu or tanh."""
    if cell == "exprnn":
        return activation in ("modrelu", "tanh")
    if activation == "modrelu":
        return False
    return cell == "rnn" or activation == "tanh"


def _check_activation_fits_cell(cell: str, activation: str) -> None:
    if not activation_fits(cell, activation):
        if activation == "modrelu":
            allowed = "only cell 'exprnn' may use it (the paper's modReLU)"
        else:
            allowed = f"only cell 'rnn' may use it ({cell} uses tanh)"
        raise FieldError("activation", activation, allowed)


class ModelDefaults(StrictModel):
    """Model settings every variant starts from (a variant overrides any of them)."""

    model_config = _FROZEN

    cell: Cell = "rnn"
    activation: Activation = "tanh"
    init: str = "default"
    init_scale: float | None = Field(default=None, gt=0, le=1e3)
    forget_bias: float | None = Field(default=None, ge=-100, le=100)
    hidden_size: int = Field(default=64, ge=1, le=LIBRARY.hidden_size)
    num_layers: int = Field(default=1, ge=1, le=LIBRARY.num_layers)
    residual: bool = False
    layer_norm: bool = False
    readout: Readout = "last"

    _init = field_validator("init")(_check_init)

    @model_validator(mode="after")
    def _activation_fits_cell(self) -> ModelDefaults:
        _check_activation_fits_cell(self.cell, self.activation)
        return self


class TrainSettings(StrictModel):
    """Training settings shared by every run (a variant may override clipping, tbptt and lr)."""

    model_config = _FROZEN

    optimizer: Optimizer = "adam"
    lr: float = Field(default=defaults.LR, gt=0, le=10)
    batch_size: int = Field(default=defaults.BATCH_SIZE, ge=1, le=LIBRARY.batch_size)
    clip: Clip = "norm"
    clip_value: float = Field(default=1.0, gt=0, le=1e6)
    tbptt: int | None = Field(default=None, ge=1, le=LIBRARY.seq_len)
    vanishing_reg: float = Field(default=0.0, ge=0, le=1e6)  # Pascanu et al. (2013)'s Omega
    eval_every: int | None = Field(default=None, ge=1, le=LIBRARY.steps)
    eval_batch_size: int | None = Field(default=None, ge=1, le=LIBRARY.batch_size)
    profiles: bool = True  # trace gradient profiles at the start, middle and end of each run


class Budget(StrictModel):
    """Per-run budget in steps; the clock is a safety cap (a run it stops is "out of time")."""

    model_config = _FROZEN

    max_steps: int = Field(default=2000, ge=1, le=LIBRARY.steps)
    # a safety cap only: a run it stops is "out_of_time", never "unsolved"
    max_seconds: float = Field(default=3600.0, gt=0, le=MAX_SECONDS_PER_RUN)


class Variant(StrictModel):
    """One named architecture + training technique; unset fields come from [model] / [train]."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=80)
    technique: str = Field(default="", max_length=80)
    cell: Cell | None = None
    activation: Activation | None = None
    init: str | None = None
    init_scale: float | None = Field(default=None, gt=0, le=1e3)
    forget_bias: float | None = Field(default=None, ge=-100, le=100)
    hidden_size: int | None = Field(default=None, ge=1, le=LIBRARY.hidden_size)
    num_layers: int | None = Field(default=None, ge=1, le=LIBRARY.num_layers)
    residual: bool | None = None
    layer_norm: bool | None = None
    readout: Readout | None = None
    clip: Clip | None = None
    clip_value: float | None = Field(default=None, gt=0, le=1e6)
    tbptt: int | None = Field(default=None, ge=0, le=LIBRARY.seq_len)  # 0 = full BPTT
    lr: float | None = Field(default=None, gt=0, le=10)
    vanishing_reg: float | None = Field(default=None, ge=0, le=1e6)
    optimizer: Optimizer | None = None
    tasks: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=64)  # None: all

    _init = field_validator("init")(_check_init)


class Grid(StrictModel):
    """A Cartesian product of architecture choices; each combination becomes a named variant.

    Unset axes keep the [model] / [train] value. Combinations that give a gated cell (lstm, gru)
    a non-tanh activation are skipped rather than rejected, so one grid can cross all cells with
    all activations.
    """

    model_config = _FROZEN

    cell: tuple[Cell, ...] | None = Field(default=None, min_length=1, max_length=9)
    activation: tuple[Activation, ...] | None = Field(default=None, min_length=1, max_length=6)
    init: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    clip: tuple[Clip, ...] | None = Field(default=None, min_length=1, max_length=3)
    clip_value: tuple[float, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    residual: tuple[bool, ...] | None = Field(default=None, min_length=1, max_length=2)
    layer_norm: tuple[bool, ...] | None = Field(default=None, min_length=1, max_length=2)
    readout: tuple[Readout, ...] | None = Field(default=None, min_length=1, max_length=2)
    tbptt: tuple[int, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    hidden_size: tuple[int, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST)

    @model_validator(mode="after")
    def _some_axis(self) -> Grid:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise InvalidValue(
                "grid", "{}", "give at least one axis: " + ", ".join(type(self).model_fields)
            )
        return self

    @field_validator("init")
    @classmethod
    def _inits_known(cls, values: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for value in values or ():
            _check_init(value)
        return values

    @field_validator("tbptt", "hidden_size")
    @classmethod
    def _sizes_bounded(cls, values: tuple[int, ...] | None, info: Any) -> tuple[int, ...] | None:
        top = LIBRARY.hidden_size if info.field_name == "hidden_size" else LIBRARY.seq_len
        low = 1 if info.field_name == "hidden_size" else 0
        for value in values or ():
            if not low <= value <= top:
                raise InvalidValue(info.field_name, value, f"each must be in [{low}, {top}]")
        return values

    @field_validator("clip_value")
    @classmethod
    def _clip_values_positive(cls, values: tuple[float, ...] | None) -> tuple[float, ...] | None:
        for value in values or ():
            if not 0 < value <= 1e6:
                raise InvalidValue("clip_value", value, "each must be in (0, 1e6]")
        return values


class TaskEntry(StrictModel):
    """A task of the study; ``seq_lens`` overrides the study's lengths for this task."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=40)
    seq_lens: tuple[int, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    options: dict[str, int] = Field(default_factory=dict, max_length=16)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @field_validator("name")
    @classmethod
    def _task_known(cls, value: str) -> str:
        names = known_tasks()
        if names is not None and value not in names:
            raise InvalidValue("name", value, "choose one of " + ", ".join(names))
        return value

    @field_validator("seq_lens")
    @classmethod
    def _lengths_bounded(cls, values: tuple[int, ...] | None) -> tuple[int, ...] | None:
        for value in values or ():
            _check_seq_len(value)
        return values


def _check_seq_len(value: int) -> None:
    if not 1 <= value <= LIBRARY.seq_len:
        raise InvalidValue("seq_len", value, f"each must be in [1, {LIBRARY.seq_len}]")


class StudySpec(StrictModel):
    """A study: variants (listed, or generated by a grid) x tasks x seq_lens x seeds."""

    model_config = _FROZEN

    name: str = Field(default="study", min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    tasks: tuple[TaskEntry, ...] = Field(min_length=1, max_length=64)
    seq_lens: tuple[int, ...] = Field(min_length=1, max_length=MAX_LIST)
    seeds: tuple[int, ...] = Field(default=(0,), min_length=1, max_length=MAX_LIST)
    model: ModelDefaults = ModelDefaults()
    train: TrainSettings = TrainSettings()
    budget: Budget = Budget()
    variants: tuple[Variant, ...] = Field(default=(), alias="variant", max_length=MAX_LIST)
    grid: Grid | None = None
    reference: str | None = None  # variant the cost ratios are relative to
    tune: TuneSpec | None = None  # learning rates tuned per cell (docs/protocol.md)

    @field_validator("seq_lens")
    @classmethod
    def _lengths_bounded(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        for value in values:
            _check_seq_len(value)
        return values

    @field_validator("seeds")
    @classmethod
    def _seeds_valid(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        for value in values:
            if not 0 <= value < 2**32:
                raise InvalidValue("seeds", value, "each must be in [0, 2**32)")
        if len(set(values)) != len(values):
            raise InvalidValue("seeds", list(values), "seeds must be distinct")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        if not self.variants and self.grid is None:
            raise FieldError("variant", [], "give at least one [[variant]] or a [grid]")
        names = [v.name for v in self.variants]
        for index, variant in enumerate(self.variants):
            if variant.name in names[:index]:
                raise FieldError(f"variant[{index + 1}].name", variant.name, "names must be unique")
            study_tasks = [t.name for t in self.tasks]
            for task in variant.tasks or ():
                if task not in study_tasks:
                    allowed = "choose among the study's tasks: " + ", ".join(study_tasks)
                    raise FieldError(f"variant[{index + 1}].tasks", task, allowed)
            cell = variant.cell or self.model.cell
            activation = variant.activation or self.model.activation
            try:
                _check_activation_fits_cell(cell, activation)
            except FieldError as e:
                raise FieldError(f"variant[{index + 1}].activation", e.value, e.allowed) from e
        if self.tune is not None and self.tune.seed in self.seeds:
            raise FieldError("tune.seed", self.tune.seed, "a seed no reported run uses (held out)")
        return self
