"""Benchmark: tracing the user's own step loop against the same loop untraced.

Three loops people write, each at H = 64 and 256, B = 32, T = 100 and 1000: a torch nn.LSTMCell
called per step, a declared cell without a kind (an IndRNN-style cell with
``@gradtrace.recurrent_cell``), and an inline loop whose state is marked with ``gradtrace.mark``.
Each runs forward+backward plainly and inside ``gradtrace.trace`` (enter, forward, backward,
read the profile, exit), interleaved; medians of CPU time (1 thread), ratio traced / plain
(goal: at most 1.1).

    python benchmarks/bench_declared.py [--quick]
    python benchmarks/bench_declared.py --diagnose   # diagnose() of a declared cell: its
        Jacobians along the calls all at once (vmap over time) vs one jacrev per step
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import gradtrace


@gradtrace.recurrent_cell
class IndCell(nn.Module):
    """h = relu(W x + u * h + b): a cell gradtrace knows nothing about but its declaration."""

    def __init__(self, size: int, hidden: int) -> None:
        super().__init__()
        self.input = nn.Linear(size, hidden)
        self.u = nn.Parameter(torch.rand(hidden))

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return F.relu(torch.addcmul(self.input(x), self.u, h))


class CellLoop(nn.Module):
    """The user's loop over a one-step cell."""

    def __init__(self, cell: nn.Module, hidden: int, lstm: bool) -> None:
        super().__init__()
        self.cell, self.hidden, self.lstm = cell, hidden, lstm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden)
        state = (h, h) if self.lstm else h
        for x_t in x.unbind(1):
            state = self.cell(x_t, state)
        return state[0] if self.lstm else state


class InlineLoop(nn.Module):
    """An inline tanh recurrence written in forward, its state marked for gradtrace."""

    def __init__(self, size: int, hidden: int) -> None:
        super().__init__()
        self.w_ih = nn.Linear(size, hidden)
        self.w_hh = nn.Linear(hidden, hidden, bias=False)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden)
        projected = self.w_ih(x).unbind(1)
        for p in projected:
            h = gradtrace.mark(torch.tanh(p + self.w_hh(h)), "inline")
        return h


def _models(hidden: int) -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "nn.LSTMCell loop": CellLoop(nn.LSTMCell(8, hidden), hidden, lstm=True),
        "declared cell loop": CellLoop(IndCell(8, hidden), hidden, lstm=False),
        "inline marked loop": InlineLoop(8, hidden),
    }


def _plain(model: nn.Module, x: torch.Tensor) -> None:
    model(x).sum().backward()


def _traced(model: nn.Module, x: torch.Tensor) -> None:
    with gradtrace.trace(model) as tr:
        model(x).sum().backward()
    _ = tr.profile


def _time(fn, model: nn.Module, x: torch.Tensor) -> float:
    start = time.process_time()
    fn(model, x)
    model.zero_grad(set_to_none=True)
    return time.process_time() - start


def diagnose_cost(hidden: int = 128, steps: int = 1000, repeats: int = 3) -> None:
    """diagnose() of the declared-cell loop (H, T, B = 32): the exact Jacobians of the cell's
    own forward for every step in one vmapped jacrev, against one jacrev per step."""
    from gradtrace.diagnosis import generic

    model = CellLoop(IndCell(8, hidden), hidden, lstm=False)
    x = torch.randn(32, steps, 8, generator=torch.Generator().manual_seed(1))
    batched = generic._over_time
    variants = {"all steps at once": batched, "one jacrev per step": lambda steps: None}
    times: dict[str, list[float]] = {name: [] for name in variants}
    dynamics: dict[str, float] = {}
    gradtrace.diagnose(model, x)  # warm up (imports, allocator)
    for _ in range(repeats):
        for name, over_time in variants.items():
            generic._over_time = over_time
            start = time.perf_counter()
            dynamics[name] = gradtrace.diagnose(model, x).timings["dynamics"]
            times[name].append(time.perf_counter() - start)
    generic._over_time = batched
    per_step, at_once = (statistics.median(times[k]) for k in reversed(list(variants)))
    print(
        f"diagnose of a declared cell, H={hidden}, T={steps}, B=32 (wall, median of {repeats}):"
        f" one jacrev per step {per_step:.2f} s, all steps at once {at_once:.2f} s "
        f"({per_step / at_once:.1f}x; its dynamics {dynamics['all steps at once']:.2f} s); "
        f"load {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    """Print traced / plain per loop, H and T."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H = 64, T = 100, fewer repeats")
    parser.add_argument("--diagnose", action="store_true", help="diagnose() of a declared cell")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.diagnose:
        diagnose_cost()
        return
    sizes = [(64, 100)] if args.quick else [(64, 100), (64, 1000), (256, 100), (256, 1000)]
    repeats = 5 if args.quick else 9
    print(f"B = 32, 1 thread, CPU time, median of {repeats}; load {os.getloadavg()[0]:.1f}")
    print(f"{'loop':20} {'H':>4} {'T':>5} {'plain ms':>9} {'traced ms':>10} {'ratio':>6}")
    for hidden, steps in sizes:
        x = torch.randn(32, steps, 8, generator=torch.Generator().manual_seed(1))
        for name, model in _models(hidden).items():
            _traced(model, x)  # warm up both
            _plain(model, x)
            times: dict[str, list[float]] = {"plain": [], "traced": []}
            for _ in range(repeats):
                times["plain"].append(_time(_plain, model, x))
                times["traced"].append(_time(_traced, model, x))
            plain, traced = (statistics.median(times[k]) for k in ("plain", "traced"))
            print(
                f"{name:20} {hidden:4d} {steps:5d} {1e3 * plain:9.1f} {1e3 * traced:10.1f} "
                f"{traced / plain:6.2f}"
            )
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
