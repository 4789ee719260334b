"""Turn a run config into the trainer's ModelSpec, TaskSpec and TrainSpec, and check them all."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from gradtrace.study.expand import RunConfig


def train_specs(config: dict[str, Any], *, threads: int | None = None) -> tuple[Any, Any, Any]:
    """(ModelSpec, TaskSpec, TrainSpec) of one run config; raises ValueError when invalid.

    The trainer fits input/output sizes and the readout to the task. ``threads`` is a runtime
    setting, not part of the config or its key.
    """
    from gradtrace.models import ModelSpec
    from gradtrace.tasks import TaskSpec
    from gradtrace.training import TrainSpec

    train = {k: v for k, v in config["train"].items() if v is not None}
    if threads is not None:
        train["threads"] = threads
    return ModelSpec(**config["model"]), TaskSpec(**config["task"]), TrainSpec(**train)


def validate_runs(runs: Iterable[RunConfig], *, source: str = "study") -> None:
    """Check every run's specs together before anything runs (seeds aside, each config once)."""
    from gradtrace.study.loading import SpecError
    from gradtrace.tasks import make_task
    from gradtrace.training.setup import check_compatible

    tasks: dict[str, Any] = {}
    checked: set[str] = set()
    for run in runs:
        signature = json.dumps(
            {**run.config, "train": {**run.config["train"], "seed": 0}}, sort_keys=True
        )
        if signature in checked:
            continue
        checked.add(signature)
        try:
            model_spec, task_spec, train_spec = train_specs(run.config)
            task_id = json.dumps(run.config["task"], sort_keys=True)
            if task_id not in tasks:
                tasks[task_id] = make_task(task_spec)
            check_compatible(model_spec, tasks[task_id], train_spec)
        except ValueError as e:
            reason = " ".join(str(e).split())
            where = f"variant {run.variant!r} on {run.task} T={run.seq_len}"
            raise SpecError(source, where, None, reason, message=reason) from e
