"""TaskSpec: the validated, frozen description of a task (name, length and its options)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from gradtrace import display
from gradtrace.errors import from_pydantic
from gradtrace.strict import StrictModel
from gradtrace.tasks.registry import TASKS


class TaskSpec(StrictModel):
    """Which task, how long, and its options (unset fields take the task's defaults).

    seq_len is the number of steps the model reads (copy: delay T + 2 * recall; digits: 64).
    Options: ``symbols`` (temporal_order: 2 or 3 relevant symbols), ``recall`` and ``alphabet``
    (copy: how many symbols to recall, from how many). Setting an option a task does not use
    is an error. Invalid values raise a one-line ValueError naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    # options are declared (so validated) before seq_len, whose rule may depend on them
    symbols: int | None = Field(default=None, validate_default=True)
    recall: int | None = Field(default=None, validate_default=True)
    alphabet: int | None = Field(default=None, validate_default=True)
    seq_len: int | None = Field(default=None, validate_default=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise from_pydantic(e) from None

    @field_validator("name")
    @classmethod
    def _known_task(cls, name: str) -> str:
        if name not in TASKS:
            raise ValueError("choose one of " + ", ".join(TASKS))
        return name

    @field_validator("symbols", "recall", "alphabet")
    @classmethod
    def _option(cls, value: int | None, info: ValidationInfo) -> int | None:
        task = TASKS.get(info.data.get("name", ""))
        if task is None:
            return value
        option = task.options.get(str(info.field_name))
        if option is None:
            if value is not None:
                users = [n for n, t in TASKS.items() if info.field_name in t.options]
                raise ValueError(f"{task.name} has no such option (used by {', '.join(users)})")
            return None
        default, lo, hi = option
        if value is None:
            return default
        if not lo <= value <= hi:
            raise ValueError(f"{task.name} allows {lo}..{hi}" if hi > lo + 1 else f"{lo} or {hi}")
        return value

    @field_validator("seq_len")
    @classmethod
    def _length(cls, value: int | None, info: ValidationInfo) -> int | None:
        task = TASKS.get(info.data.get("name", ""))
        if task is None:
            return value
        if value is None:
            return task.default_seq_len
        options = {k: info.data[k] for k in task.options if info.data.get(k) is not None}
        if not task.accepts_seq_len(value, options):
            raise ValueError(task.seq_len_rule(options))
        return value

    def to_dict(self) -> dict[str, Any]:
        """The fields that apply to this task, as plain JSON-able values."""
        return self.model_dump(exclude_none=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        """Inverse of `to_dict` (unknown keys are errors)."""
        return cls(**data)

    def _repr_html_(self) -> str:
        return display.spec_summary(self).html()

    def __rich__(self) -> Any:
        return display.spec_summary(self).rich()
