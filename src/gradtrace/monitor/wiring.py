"""The Monitor's arguments checked and wired: optimizers, sinks, thresholds, norm arithmetic.

Small pure helpers of ``monitor.Monitor``, kept apart so the step logic reads on its own.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gradtrace._stack import user_stacklevel
from gradtrace.errors import InvalidValue, check
from gradtrace.monitor.jsonl import JsonlSink
from gradtrace.monitor.norms import Norms, ParamIndex, layer_kinds, unwrap
from gradtrace.monitor.sinks import Sink
from gradtrace.monitor.thresholds import Thresholds

logger = logging.getLogger("gradtrace")


def report_failure(error: Exception) -> None:
    """Say once, in the log and as a RuntimeWarning, that monitoring stopped; never raise."""
    text = f"gradtrace monitor failed ({type(error).__name__}: {error}); monitoring is off, "
    text += "training continues"
    logger.error(text, exc_info=error)
    with contextlib.suppress(Exception):  # warnings turned into errors must not stop training
        warnings.warn(text, RuntimeWarning, stacklevel=user_stacklevel())


def recurrent_kinds(model: nn.Module, index: ParamIndex) -> dict[str, str]:
    """The recurrent kind of each layer holding a W_hh ({} when it cannot be told)."""
    try:
        return layer_kinds(model, index)
    except Exception as e:  # advice gets less specific, nothing else changes
        logger.debug("gradtrace monitor: recurrent layers not identified (%s)", e)
        return {}


def built_by_gradtrace(model: nn.Module) -> bool:
    """Whether the model is one of gradtrace's own (advice then speaks ModelSpec fields)."""
    from gradtrace.models.net import RecurrentNet

    return isinstance(unwrap(model), RecurrentNet)


def optimizers_of(value: Any) -> tuple[torch.optim.Optimizer, ...]:
    """None, one optimizer or a list of them, as a tuple (the first one's steps are recorded)."""
    if value is None:
        return ()
    found = tuple(value) if isinstance(value, list | tuple) else (value,)
    for opt in found:
        ok = isinstance(opt, torch.optim.Optimizer)
        check(
            ok, "optimizer", type(opt).__name__, "a torch.optim.Optimizer, a list of them or None"
        )
    return found


def added_parameters(
    model: nn.Module, optimizers: tuple, index: ParamIndex
) -> list[tuple[str, nn.Parameter]]:
    """(name, parameter) of every trainable parameter the optimizers hold that ``index`` lacks;
    a parameter outside the model is named ``optimizer.param_groups.<group>.<i>``."""
    names = {id(p): n for n, p in unwrap(model).named_parameters()}
    known = {id(p) for p in index.params}
    groups = [g for opt in optimizers for g in opt.param_groups]
    extra = []
    for g, group in enumerate(groups):
        for i, p in enumerate(group["params"]):
            if id(p) not in known and p.requires_grad:
                known.add(id(p))
                extra.append((names.get(id(p), f"optimizer.param_groups.{g}.{i}"), p))
    return extra


def worst(raw: Norms, final: Norms) -> Norms:
    """The raw norms, with the final ones wherever those are not finite (no host sync)."""

    def pick(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.where(torch.isfinite(b), a, b)

    return Norms(
        params=pick(raw.params, final.params),
        layers=pick(raw.layers, final.layers),
        total=pick(raw.total, final.total),
        present=raw.present,
    )


def unscaled(norms: Norms, scaler: Any) -> Norms:
    """Norms of gradients a GradScaler has scaled, divided by its scale (on the device)."""
    scale = getattr(scaler, "_scale", None)
    if scale is None:
        return norms
    inverse = 1.0 / scale.to(norms.total.device, norms.total.dtype).reshape(())
    return Norms(
        params=torch.where(norms.params >= 0, norms.params * inverse, norms.params),
        layers=norms.layers * inverse,
        total=norms.total * inverse,
        present=norms.present,
    )


def check_int(name: str, value: Any, *, least: int) -> None:
    """Refuse anything but an integer >= least (booleans included) in one line."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= least
    check(ok, name, value, f"an integer >= {least}")


def thresholds_of(value: Thresholds | dict | None) -> Thresholds:
    """Thresholds from None, a Thresholds or a dict of its fields (unknown keys refused)."""
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    check(isinstance(value, dict), "thresholds", value, "a Thresholds or a dict of its fields")
    known = Thresholds.__dataclass_fields__
    for key in value:
        check(
            key in known, f"thresholds.{key}", value[key], "unknown key; known: " + ", ".join(known)
        )
    return Thresholds(**value)


def as_sink(sink: Any) -> Sink:
    """A Sink, or a JsonlSink for a path ending in .jsonl."""
    if isinstance(sink, Sink):
        return sink
    if isinstance(sink, str | Path) and str(sink).endswith(".jsonl"):
        return JsonlSink(sink)
    raise InvalidValue("sinks", sink, "a Sink or a path ending in .jsonl")


def is_main_process() -> bool:
    """True outside torch.distributed and on rank 0 (only it writes sinks)."""
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0
