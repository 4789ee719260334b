"""Benchmark: the cost of gradtrace.trace against a plain forward+backward of torch's fused modules.

For a 1-layer nn.LSTM / nn.GRU / nn.RNN (hidden 128, batch 32) at T = 100, 1000, 10000 it times
a plain forward+backward and a traced one (enter trace, forward, backward, read the profile,
exit), interleaved, and prints the medians and their ratio. Then it reports memory against T:
the bytes the tracer keeps (its per-step norms, O(T*B)) and the bytes saved for backward by the
plain and the traced forward (counted with torch.autograd.graph.saved_tensors_hooks).

Times are CPU time of this process (time.process_time) with torch.set_num_threads(1): stable on
a shared machine, and one thread is what small recurrent models use best.

    python benchmarks/bench_trace.py            # full: T = 100, 1000, 10000
    python benchmarks/bench_trace.py --quick    # T = 100, 1000, few repeats
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import gradtrace

MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _plain(model: nn.Module, x: torch.Tensor) -> None:
    out, _ = model(x)
    out.sum().backward()


def _traced(model: nn.Module, x: torch.Tensor) -> None:
    with gradtrace.trace(model) as tr:
        out, _ = model(x)
        out.sum().backward()
        tr.profile  # noqa: B018 - reading it converts the norms: part of the cost


def _time(fn, model: nn.Module, x: torch.Tensor) -> float:
    model.zero_grad(set_to_none=True)
    start = time.process_time()
    fn(model, x)
    return time.process_time() - start


def time_case(kind: str, steps: int, args: argparse.Namespace, repeats: int) -> dict:
    """Median plain and traced times of one module at one sequence length (interleaved)."""
    torch.manual_seed(0)
    model = MODULES[kind](args.input_size, args.hidden)
    x = torch.randn(steps, args.batch, args.input_size)
    _plain(model, x)  # warm up both paths (oneDNN kernels, allocator)
    _traced(model, x)
    plain, traced = [], []
    for _ in range(repeats):
        plain.append(_time(_plain, model, x))
        traced.append(_time(_traced, model, x))
    ratios = [t / p for p, t in zip(plain, traced, strict=True)]
    return {
        "plain": statistics.median(plain),
        "traced": statistics.median(traced),
        "ratio": statistics.median(ratios),
    }


def saved_bytes(model: nn.Module, x: torch.Tensor, *, traced: bool) -> tuple[int, int]:
    """(bytes saved for backward by the forward, bytes the tracer keeps after backward)."""
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    if not traced:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out, _ = model(x)
        out.sum().backward()
        return total, 0
    with gradtrace.trace(model) as tr:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out, _ = model(x)
        out.sum().backward()
        return total, tr.stored_bytes


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 100, 1000 with few repeats")
    parser.add_argument("--hidden", type=int, default=128, help="hidden size (default 128)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--input-size", type=int, default=32, help="input size (default 32)")
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="comma-separated modules")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    plan = {100: 5, 1000: 3} if args.quick else {100: 21, 1000: 7, 10000: 3}
    print(
        f"gradtrace.trace vs plain forward+backward, 1 layer, H={args.hidden}, B={args.batch}, "
        f"I={args.input_size}, torch {torch.__version__}, 1 thread, CPU time, median"
    )
    print(f"{'module':6} {'T':>6} {'plain ms':>10} {'traced ms':>10} {'ratio':>6}")
    for kind in args.kinds.split(","):
        for steps, repeats in plan.items():
            row = time_case(kind, steps, args, repeats)
            print(
                f"{kind:6} {steps:>6} {row['plain'] * 1e3:>10.1f} {row['traced'] * 1e3:>10.1f} "
                f"{row['ratio']:>6.3f}"
            )
    print("\nmemory against T (LSTM): saved for backward, plain vs traced; kept by the tracer")
    print(f"{'T':>6} {'plain MB':>9} {'traced MB':>10} {'tracer bytes':>13} {'per step':>9}")
    torch.manual_seed(0)
    model = nn.LSTM(args.input_size, args.hidden)
    for steps in [100, 1000] if args.quick else [100, 1000, 10000]:
        x = torch.randn(steps, args.batch, args.input_size)
        plain, _ = saved_bytes(model, x, traced=False)
        traced, kept = saved_bytes(model, x, traced=True)
        print(
            f"{steps:>6} {plain / 2**20:>9.1f} {traced / 2**20:>10.1f} {kept:>13} "
            f"{kept // steps:>9}"
        )


if __name__ == "__main__":
    main()
