"""Measurement helpers the checks share: seeded models on noise, traced profiles, timings."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace.flow import DEFAULT_EPS


@contextmanager
def one_thread() -> Iterator[None]:
    """Run a block on one torch thread, restoring the previous setting after.

    Small recurrent models do not scale over threads, and on a busy machine each of their many
    small per-step kernels waits for the slowest thread: one thread is faster and steadier.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def build(fields: dict[str, Any], *, hidden: int, seed: int = 0, dtype=torch.float64) -> nn.Module:
    """A gradtrace model from ModelSpec ``fields`` (hidden size set), seeded, in ``dtype``."""
    from gradtrace.models import ModelSpec, build_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(ModelSpec(**{"hidden_size": hidden, **fields}))
    return model.to(dtype)


def noise(
    batch: int, seq_len: int, *, input_size: int = 1, seed: int = 0, dtype=torch.float64
) -> torch.Tensor:
    """A (B, T, I) batch of N(0, 1) inputs from a private generator."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, seq_len, input_size, generator=generator, dtype=torch.float64).to(
        dtype
    )


def last_step_loss(output: torch.Tensor) -> torch.Tensor:
    """The loss every probe uses: the last step's outputs summed, averaged over the batch."""
    out = output[:, -1] if output.dim() == 3 else output
    return out.sum() / out.shape[0]


def traced(model: nn.Module, x: torch.Tensor) -> Any:
    """The GradientProfile of one forward/backward of ``model`` on ``x`` (last-step loss)."""
    from gradtrace.tracing import trace

    with trace(model) as tracer:
        last_step_loss(model(x)).backward()
    model.zero_grad(set_to_none=True)
    return tracer.profile


FIGURE_LAGS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


def flow_numbers(layer: Any, eps: float = DEFAULT_EPS) -> dict[str, Any]:
    """Horizon (None: beyond T), decay factor, verdict and r_k of a LayerProfile.

    ``r_by_lag`` samples the relative profile at 1, 2, 5, 10, ... and the last lag: enough to
    draw the curve (figure data) without storing every step.
    """
    relative = np.asarray(layer.relative, dtype=np.float64)
    lags = sorted({k for k in FIGURE_LAGS if k < relative.size} | {relative.size - 1})
    return {
        "layer": layer.name,
        "T": int(layer.seq_len),
        "horizon": layer.horizon(eps),
        "gamma_hat": _finite(layer.decay_factor),
        "verdict": layer.verdict(eps),
        "r_at_T": _finite(float(relative[-1])) if relative.size else None,
        "r_by_lag": {str(k): _finite(float(relative[k])) for k in lags if k >= 0},
    }


def probe_flow(
    fields: dict[str, Any],
    *,
    hidden: int,
    seq_len: int,
    batch: int,
    seed: int = 0,
    layer: int = 0,
) -> dict[str, Any]:
    """flow_numbers of one layer of a fresh model (``fields``) traced on N(0, 1) noise, float64."""
    model = build(fields, hidden=hidden, seed=seed)
    x = noise(batch, seq_len, input_size=model.spec.input_size, seed=seed)
    profile = traced(model, x)
    return flow_numbers(profile.layers[layer])


def trace_size(ctx: Any, *, seq_len: int | None = None) -> dict[str, Any]:
    """The probe size of ``ctx``'s budget (hidden, seq_len, batch) and its seed, as keywords."""
    budget = ctx.budget
    return {
        "hidden": budget.trace_hidden,
        "seq_len": seq_len or budget.trace_len,
        "batch": budget.trace_batch,
        "seed": ctx.seed,
    }


def budget_flow(fields: dict[str, Any], ctx: Any, *, seq_len: int | None = None) -> dict[str, Any]:
    """probe_flow of a fresh model (``fields``) at the probe size and seed of ``ctx``."""
    return probe_flow(fields, **trace_size(ctx, seq_len=seq_len))


def input_gradient_norms(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """(T,) batch mean of ||dL/dx_t|| for the last-step loss: how much each input counts."""
    x = x.detach().clone().requires_grad_(True)
    last_step_loss(model(x)).backward()
    model.zero_grad(set_to_none=True)
    return x.grad.norm(dim=-1).mean(dim=0).double().numpy()  # (T,)


def reach(horizon: int | None, seq_len: int) -> int:
    """A horizon as a number of steps for comparisons (beyond T counts as T)."""
    return seq_len if horizon is None else int(horizon)


def show_horizon(horizon: int | None) -> str:
    """'37 steps' or 'beyond T'."""
    return "beyond T" if horizon is None else f"{horizon} steps"


def interleaved_medians(
    variants: dict[str, Callable[[], Any]], *, repeats: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each variant, timed in interleaved rounds (fair under load)."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def num(value: float | None, digits: int = 3) -> str:
    """A number for a summary line: 3 significant digits, 'n/a' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
