"""TuneSpec: the [tune] table of a study (learning-rate grid, tuning seed, successive halving)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gradtrace.errors import InvalidValue

# log grids spanning 1e-4 to 1e-2 (SGD, which needs larger steps, up to 1e-1)
DEFAULT_GRIDS: dict[str, tuple[float, ...]] = {
    "adam": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
    "rmsprop": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
    "sgd": (1e-4, 1e-3, 1e-2, 3e-2, 1e-1),
}
TUNING_SEED = 1000
TUNING = "lr tuning"  # the technique label of tuning runs in the store (never in the tables)


class TuneSpec(BaseModel):
    """How a study tunes its learning rates (the [tune] table of a study file).

    ``chosen`` names a committed tuning result (gradtrace/data/tuned/<name>.json) to use
    instead of searching; `gradtrace study ... --search-lr` regenerates it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    grid: tuple[float, ...] | None = Field(default=None, min_length=2, max_length=16)
    seed: int = Field(default=TUNING_SEED, ge=0, lt=2**31)
    eta: int = Field(default=3, ge=2, le=10)
    rungs: int = Field(default=3, ge=1, le=8)
    chosen: str | None = Field(default=None, min_length=1, max_length=80)
    # stop after this many rungs (a machine too busy to finish): cells still undecided take
    # the best rate so far, marked provisional; the rung budgets stay those of ``rungs``
    stop_after: int | None = Field(default=None, ge=1, le=8)

    @field_validator("grid")
    @classmethod
    def _rates_positive(cls, values: tuple[float, ...] | None) -> tuple[float, ...] | None:
        for value in values or ():
            if not 0 < value <= 10:
                raise InvalidValue("tune.grid", value, "each learning rate must be in (0, 10]")
        return tuple(sorted(set(values))) if values else values
