"""Checked by mypy (not run): the public API has real types, not Any, for a type checker."""

from __future__ import annotations

from typing import assert_type

import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis.diagnosing import Diagnosis
from gradtrace.models.net import RecurrentNet
from gradtrace.monitor.monitor import Monitor
from gradtrace.tracing.profile import GradientProfile, LayerProfile
from gradtrace.tracing.tracer import Tracer


def traced(model: nn.Module, x: torch.Tensor) -> GradientProfile:
    """trace -> Tracer -> GradientProfile -> LayerProfile, each seen with its own type."""
    with gradtrace.trace(model) as tr:
        model(x)[0].sum().backward()
    assert_type(tr, Tracer)
    profile = tr.profile
    assert_type(profile, gradtrace.GradientProfile)
    assert_type(profile.layers[0], LayerProfile)
    assert_type(profile.layers[0].horizon(), int | None)
    return profile


def diagnosed(model: nn.Module, x: torch.Tensor) -> str:
    """diagnose -> Diagnosis with a str verdict."""
    diagnosis = gradtrace.diagnose(model, x)
    assert_type(diagnosis, Diagnosis)
    return diagnosis.verdict


def built() -> RecurrentNet:
    """ModelSpec and build_model are typed; a wrong field type is a type error."""
    spec = gradtrace.ModelSpec(cell="lstm", hidden_size=8)
    assert_type(spec, gradtrace.ModelSpec)
    return gradtrace.build_model(spec)


def monitored(model: nn.Module) -> Monitor:
    """Monitor is a class, not Any."""
    assert_type(gradtrace.Monitor, type[Monitor])
    return gradtrace.Monitor(model)


assert_type(gradtrace.__version__, str)

_typo = gradtrace.no_such_name  # type: ignore[attr-defined]  # a typo is an error, not Any
