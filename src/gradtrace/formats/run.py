"""Run JSON (format 1): a RunRecord.to_dict() written by ``gradtrace train --json/--out``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gradtrace.formats.base import READ, FormatError, check_version, validate
from gradtrace.formats.profile import PhaseProfile

VERSION = 1
Point = list[float | None]


class RunRecordV1(BaseModel):
    """The fields of a run record that gradtrace reads back (reports, tables, the web lab)."""

    model_config = READ

    format_version: int | None = None
    status: Literal["solved", "unsolved", "diverged", "failed"]
    steps: int | None = Field(default=None, ge=0)
    steps_to_solve: int | None = Field(default=None, ge=0)
    metric: float | None = None
    best_metric: float | None = None
    baseline: float | None = None
    final_loss: float | None = None
    loss_curve: list[Point] = Field(default_factory=list)
    eval_curve: list[Point] = Field(default_factory=list)
    wall_time_s: float | None = None
    time_per_step_s: float | None = None
    peak_memory_mb: float | None = None
    n_params: int | None = None
    profiles: dict[str, PhaseProfile | None] | None = None
    model_spec: dict[str, Any] = Field(default_factory=dict)
    task_spec: dict[str, Any] = Field(default_factory=dict)
    train_spec: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    error: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def validate_run(data: Any, *, file: str | Path, record: str = "") -> dict[str, Any]:
    """``data`` checked as a run record; returns it unchanged (a dict) when it is one."""
    if not isinstance(data, dict):
        raise FormatError(file, record, type(data).__name__, "a run record (a JSON object)")
    check_version(data.get("format_version"), VERSION, file=file, record=record)
    run = validate(RunRecordV1, data, file=file, record=record)
    for i, point in enumerate(run.loss_curve + run.eval_curve):
        if len(point) != 2:
            where = ".".join(p for p in (record, f"curve[{i}]") if p)
            raise FormatError(file, where, point, "a [step, value] pair")
    return data
