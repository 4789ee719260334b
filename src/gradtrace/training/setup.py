"""Preparing a run: fitting the model spec to the task and building the optimizer."""

from __future__ import annotations

from typing import Any

import torch
from pydantic import ValidationError

from gradtrace.errors import InvalidValue, from_pydantic
from gradtrace.tasks import Task
from gradtrace.training.spec import TrainSpec


def fit_model_spec(model_spec: Any, task: Task) -> Any:
    """The model spec with input/output sizes and readout taken from ``task``.

    Readout "last" (the default) becomes the task's readout; "attention" is kept for tasks
    answered at the last step; any other mismatch is an error naming ``model.readout``.
    """
    from gradtrace.models import ModelSpec

    readout = model_spec.readout
    if readout == "last":
        readout = task.readout
    elif readout != task.readout and not (readout == "attention" and task.readout == "last"):
        allowed = "'all'" if task.readout == "all" else "'last' or 'attention'"
        raise InvalidValue(
            "model.readout", readout, f"task {task.name} needs readout {allowed} (or leave 'last')"
        )
    data = model_spec.model_dump()
    data.update(input_size=task.input_size, output_size=task.output_size, readout=readout)
    try:
        return ModelSpec(**data)
    except ValidationError as e:
        raise from_pydantic(e, prefix="model") from None


def check_compatible(model_spec: Any, task: Task, train_spec: TrainSpec) -> Any:
    """Validate the three specs together before any work; return the fitted model spec."""
    fitted = fit_model_spec(model_spec, task)
    if train_spec.tbptt is not None and fitted.readout == "attention":
        raise InvalidValue(
            "tbptt",
            train_spec.tbptt,
            "None with readout 'attention' (attention reads the whole sequence at once)",
        )
    if train_spec.vanishing_reg > 0:
        from gradtrace.training.regularizer import check_regularizable

        check_regularizable(fitted, train_spec)
    return fitted


def make_optimizer(params: list[torch.nn.Parameter], spec: TrainSpec) -> torch.optim.Optimizer:
    """Adam, RMSprop or SGD over ``params`` with the spec's learning rate (and momentum)."""
    if spec.optimizer == "adam":
        return torch.optim.Adam(params, lr=spec.lr)
    if spec.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=spec.lr, momentum=spec.momentum)
    return torch.optim.SGD(params, lr=spec.lr, momentum=spec.momentum)
