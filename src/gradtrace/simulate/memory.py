"""The curse of memory: how sensitive a linear recurrence's state is to its own lambda.

Setting (Zucchet & Orvieto 2024, "Recurrent neural networks: vanishing and exploding gradients
are not the end of the story", their linear diagonal case), one real unit:

    h_t = lambda * h_{t-1} + x_t,   h_0 = 0,   x_t i.i.d., E x_t = 0, E x_t^2 = 1,   |lambda| < 1

Then h_t = sum_{k=0}^{t-1} lambda^k x_{t-k}, so dh_t/dlambda = sum_{k=1}^{t-1} k lambda^(k-1)
x_{t-k}, and by independence

    E[(dh_t/dlambda)^2] = sum_{k=1}^{t-1} k^2 lambda^(2(k-1))            (exact at every t)
                        -> (1 + lambda^2) / (1 - lambda^2)^3              (t -> infinity)

using sum_{k>=1} k^2 q^k = q (1 + q) / (1 - q)^3 with q = lambda^2. The state itself only
grows as E[h_t^2] -> 1 / (1 - lambda^2): as the memory grows (|lambda| -> 1) the sensitivity
to lambda explodes two powers faster, although dh_T/dh_t = lambda^(T-t) never explodes. The
result holds for any white noise of unit variance; the measurement uses standard normal x.

Measured: ``samples`` sequences of T steps, x ~ N(0, 1) from torch.Generator seeded with
``seed`` (+ the lambda's index), run by gradtrace's chunked scan in float64 with one lambda per
sequence; autograd gives each sequence's dh_T/dlambda, and the mean of their squares is
reported with a 99% normal interval, mean +- 2.576 s / sqrt(samples) (s the sample standard
deviation of the squares). It estimates the exact sum at t = T. T is ``steps`` when given, else
per lambda the first t at which the exact sum is within 1e-9 (relative) of the limit, so that
the closed form and the exact value agree to the digits shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gradtrace.simulate import checks

DEFAULT_LAMBDAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
DEFAULT_SAMPLES = 4000
MAX_SAMPLES = 1_000_000
MAX_WORK = 100_000_000  # samples * steps per lambda
MAX_STEPS = 1_000_000
CONVERGED = 1e-9  # automatic T: the exact sum is this close (relative) to the limit
Z99 = 2.5758293035489004  # two-sided 99% normal quantile
FORMULA = "E[(dh_t/dlambda)^2] -> (1 + lambda^2) / (1 - lambda^2)^3 as t -> infinity"
SETTING = (
    "h_t = lambda h_(t-1) + x_t, h_0 = 0, x_t i.i.d. with mean 0 and variance 1 (measured with "
    "N(0, 1)), real |lambda| < 1"
)


def closed_form(lam: float) -> float:
    """lim_t E[(dh_t/dlambda)^2] = (1 + lambda^2) / (1 - lambda^2)^3 for real |lambda| < 1."""
    q = lam * lam
    return (1 + q) / (1 - q) ** 3


def finite_sum(lam: float, steps: int) -> float:
    """E[(dh_t/dlambda)^2] at t = steps exactly: sum_{k=1}^{t-1} k^2 lambda^(2(k-1))."""
    k = np.arange(1, steps, dtype=np.float64)
    return float(np.sum(k * k * (lam * lam) ** (k - 1)))


def converged_steps(lam: float, tolerance: float = CONVERGED) -> int:
    """The first t >= 2 at which the exact sum is within ``tolerance`` (relative) of the limit."""
    limit, q = closed_form(lam), lam * lam
    total, k = 0.0, 1
    while k < MAX_STEPS:
        total += k * k * q ** (k - 1)
        k += 1
        if limit - total <= tolerance * limit:
            return k  # the sum runs to t - 1 = k - 1
    return MAX_STEPS


def state_variance(lam: float) -> float:
    """lim_t E[h_t^2] = 1 / (1 - lambda^2): the state's own scale, for comparison."""
    return 1 / (1 - lam * lam)


def measure(lam: float, *, samples: int, steps: int, seed: int) -> tuple[float, float]:
    """(mean, standard error) of (dh_T/dlambda)^2 over ``samples`` sequences, by autograd."""
    from gradtrace.models.frontier.scan import scan

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, steps, generator=generator, dtype=torch.float64)
    lams = torch.full((samples, 1), float(lam), dtype=torch.float64, requires_grad=True)
    h = scan(lams, x)  # (samples, steps), one lambda per sequence
    (grad,) = torch.autograd.grad(h[:, -1].sum(), lams)  # row m: dh_T/dlambda of sequence m
    squares = grad[:, 0].square()
    spread = float(squares.std()) if samples > 1 else math.inf
    return float(squares.mean()), spread / math.sqrt(samples)


@dataclass(frozen=True)
class MemoryRow:
    """One lambda: the closed form, the exact finite-t value and autograd's measurement."""

    lam: float
    steps: int  # t at which exact and measured are taken
    state_variance: float
    closed_form: float
    exact: float  # at t = steps
    measured: float
    low: float
    high: float

    @property
    def within(self) -> bool:
        """Whether the exact finite-t value lies in the measurement's 99% interval."""
        return self.low <= self.exact <= self.high

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {
            "lambda": self.lam,
            "steps": self.steps,
            "state_variance": self.state_variance,
            "closed_form": self.closed_form,
            "exact": self.exact,
            "measured": self.measured,
            "interval": [self.low, self.high],
            "within": self.within,
        }


@dataclass(frozen=True)
class MemoryResult:
    """The sensitivity of the state to lambda, closed form beside autograd, per lambda."""

    samples: int
    steps: int | None  # None: per lambda, until the exact sum has converged
    seed: int
    rows: tuple[MemoryRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """{"command": "memory", "params": {...}, "results": {"rows", "formula", "setting"}}."""
        return {
            "command": "memory",
            "params": {
                "lambdas": [row.lam for row in self.rows],
                "samples": self.samples,
                "steps": self.steps,
                "seed": self.seed,
            },
            "results": {
                "rows": [row.to_dict() for row in self.rows],
                "formula": FORMULA,
                "setting": SETTING,
                "interval": "99% normal interval of the Monte Carlo mean",
            },
        }


def memory_sensitivity(
    lambdas: Any = DEFAULT_LAMBDAS,
    *,
    samples: int = DEFAULT_SAMPLES,
    steps: int | None = None,
    seed: int = 0,
) -> MemoryResult:
    """E[(dh_t/dlambda)^2]: closed form, exact at t = steps, and autograd's Monte Carlo value."""
    values = [checks.real("lambdas", v) for v in checks.listing("lambdas", lambdas)]
    for value in values:
        if not -1 < value < 1:
            raise checks.InvalidValue("lambdas", value, "must be in (-1, 1) (|lambda| < 1)")
    samples = checks.whole("samples", samples, low=2, high=MAX_SAMPLES)
    most = MAX_WORK // samples
    if steps is not None:
        steps = checks.whole("steps", steps, low=2, high=most)
    seed = checks.whole("seed", seed, low=0, high=2**62)
    rows = []
    for index, lam in enumerate(values):
        length = steps if steps is not None else converged_steps(lam)
        if length > most:
            raise checks.InvalidValue(
                "lambdas",
                lam,
                f"needs {length} steps to converge; with {samples} samples at most {most} fit "
                "(give fewer samples, or --steps)",
            )
        mean, error = measure(lam, samples=samples, steps=length, seed=seed + index)
        rows.append(
            MemoryRow(
                lam,
                length,
                state_variance(lam),
                closed_form(lam),
                finite_sum(lam, length),
                mean,
                mean - Z99 * error,
                mean + Z99 * error,
            )
        )
    return MemoryResult(samples, steps, seed, tuple(rows))


def memory_renderable(result: MemoryResult) -> Any:
    """The Rich table of ``gradtrace simulate memory``."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from gradtrace.simulate.formatting import format_param, format_value

    table = Table(title=escape("Sensitivity of the state to lambda: E[(dh_t/dlambda)^2]"))
    for name in ("lambda", "E[h^2]", "closed form", "t", "exact(t)", "autograd", "99% low"):
        table.add_column(escape(name), justify="right")
    table.add_column("99% high", justify="right")
    for row in result.rows:
        table.add_row(
            format_param(row.lam),
            format_value(row.state_variance),
            format_value(row.closed_form),
            str(row.steps),
            format_value(row.exact),
            format_value(row.measured) if row.within else f"[red]{format_value(row.measured)}*",
            format_value(row.low),
            format_value(row.high),
        )
    note = Text(
        f"{SETTING}. closed form: {FORMULA}. exact(t): the finite sum at t. autograd: mean of "
        f"(dh_t/dlambda)^2 over {result.samples} sequences, seed {result.seed}, with its 99% "
        "interval (* in red: exact(t) outside it, expected for about 1 row in 100).",
        style="dim",
    )
    return Group(table, note)


def plot_memory(result: MemoryResult, path: str | Path) -> Path:
    """Closed form and E[h^2] against |lambda| (log y), autograd's values with their intervals."""
    from gradtrace.simulate.plots import _figure, _save

    figure = _figure()
    ax = figure.add_subplot()
    top = max(0.99, max(abs(row.lam) for row in result.rows))
    grid = np.linspace(0.0, top, 400)
    ax.plot(grid, [closed_form(v) for v in grid], label="(1 + lambda^2) / (1 - lambda^2)^3")
    ax.plot(grid, [state_variance(v) for v in grid], "--", label="E[h^2] = 1 / (1 - lambda^2)")
    lams = np.array([abs(row.lam) for row in result.rows])
    measured = np.array([row.measured for row in result.rows])
    spread = np.array([[row.measured - row.low, row.high - row.measured] for row in result.rows])
    ax.errorbar(lams, measured, yerr=spread.T, fmt="o", capsize=3, label="autograd (99% interval)")
    ax.set_yscale("log")
    ax.set(
        xlabel="|lambda|",
        ylabel="E[(dh_t / dlambda)^2]",
        title="The curse of memory: sensitivity to lambda explodes as |lambda| -> 1",
    )
    ax.legend()
    return _save(figure, path)
