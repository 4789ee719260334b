"""Benchmark: the cost of gradtrace.trace against a plain forward+backward of torch's fused modules.

For a 1-layer nn.LSTM / nn.GRU / nn.RNN (batch 32) at H = 64, 128, 256 and T = 20, 100, 1000,
10000 it times a plain forward+backward and a traced one (enter trace, forward, backward, read
the profile, exit), interleaved, and prints the medians and their ratio, then the ratios as one
grid (goal: at most 1.1 everywhere). Then it reports memory against T: the bytes the tracer
keeps (its per-step norms, O(T*B)) and the bytes saved for backward by the plain and the traced
forward (counted with torch.autograd.graph.saved_tensors_hooks).

Times are CPU time of this process (time.process_time) with torch.set_num_threads(1): stable on
a shared machine, and one thread is what small recurrent models use best. The load average is
printed with the results: other processes on the same cores still slow both variants.

    python benchmarks/bench_trace.py            # full grid, T up to 10000 (a few minutes)
    python benchmarks/bench_trace.py --quick    # T = 20, 100, 1000, fewer repeats
    python benchmarks/bench_trace.py --device cuda   # against cuDNN (wall time, synchronized)
"""

from __future__ import annotations

import argparse
import os
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
    if x.is_cuda:  # the GPU works asynchronously: wall time between two synchronizations
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn(model, x)
        torch.cuda.synchronize()
        return time.perf_counter() - start
    start = time.process_time()
    fn(model, x)
    return time.process_time() - start


def time_case(kind: str, hidden: int, steps: int, args: argparse.Namespace, repeats: int) -> dict:
    """Median plain and traced times of one module at one size (interleaved repeats)."""
    torch.manual_seed(0)
    model = MODULES[kind](args.input_size, hidden).to(args.device)
    x = torch.randn(steps, args.batch, args.input_size, device=args.device)
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


def load() -> str:
    """The 1, 5 and 15 minute load averages, for the record."""
    try:
        return "load " + " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "load unknown"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 20, 100, 1000, few repeats")
    parser.add_argument("--hidden", default="64,128,256", help="comma-separated hidden sizes")
    parser.add_argument("--steps", default=None, help="comma-separated T (default: the grid)")
    parser.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--input-size", type=int, default=32, help="input size (default 32)")
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="comma-separated modules")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    repeats = {20: 9, 100: 7, 1000: 3} if args.quick else {20: 21, 100: 11, 1000: 5, 10000: 3}
    if args.steps:
        repeats = {int(t): repeats.get(int(t), 3) for t in args.steps.split(",")}
    hiddens = [int(h) for h in args.hidden.split(",")]
    kinds = args.kinds.split(",")
    clock = "wall time (synchronized)" if args.device.startswith("cuda") else "CPU time, 1 thread"
    print(
        f"gradtrace.trace vs plain forward+backward, 1 layer, B={args.batch}, "
        f"I={args.input_size}, torch {torch.__version__}, {args.device}, {clock}, median; "
        f"{load()}"
    )
    print(f"{'module':6} {'H':>4} {'T':>6} {'plain ms':>10} {'traced ms':>10} {'ratio':>6}")
    grid: dict[tuple[str, int], dict[int, float]] = {}
    for kind in kinds:
        for hidden in hiddens:
            for steps, count in repeats.items():
                row = time_case(kind, hidden, steps, args, count)
                grid.setdefault((kind, hidden), {})[steps] = row["ratio"]
                print(
                    f"{kind:6} {hidden:>4} {steps:>6} {row['plain'] * 1e3:>10.1f} "
                    f"{row['traced'] * 1e3:>10.1f} {row['ratio']:>6.3f}",
                    flush=True,
                )
    print(f"\nratio traced / plain (goal <= 1.1); {load()}")
    print(f"{'module':6} {'H':>4} " + " ".join(f"{'T=' + str(t):>8}" for t in repeats))
    for (kind, hidden), ratios in grid.items():
        print(f"{kind:6} {hidden:>4} " + " ".join(f"{ratios[t]:>8.3f}" for t in repeats))
    if args.no_memory:
        return
    hidden = 128 if 128 in hiddens else hiddens[0]
    print(f"\nmemory against T (LSTM, H={hidden}): saved for backward, plain vs traced; kept by")
    print("the tracer (its per-step norms: O(T*B))")
    print(f"{'T':>6} {'plain MB':>9} {'traced MB':>10} {'tracer bytes':>13} {'per step':>9}")
    torch.manual_seed(0)
    model = nn.LSTM(args.input_size, hidden).to(args.device)
    for steps in repeats:
        x = torch.randn(steps, args.batch, args.input_size, device=args.device)
        plain, _ = saved_bytes(model, x, traced=False)
        traced, kept = saved_bytes(model, x, traced=True)
        print(
            f"{steps:>6} {plain / 2**20:>9.1f} {traced / 2**20:>10.1f} {kept:>13} "
            f"{kept // steps:>9}"
        )


if __name__ == "__main__":
    main()
