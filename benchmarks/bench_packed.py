"""Benchmark: N runs trained together (training.packed, torch.func.vmap) against one after another.

For each cell (tanh RNN, GRU, LSTM; H = 32, the adding task at T = 100, batch 32, Adam) it trains
N runs that differ in seed and learning rate with ``train_packed`` and the same N runs one by one
with ``train_alone`` (the model's own kernels: torch's fused modules), interleaved, and prints
runs per hour of both and their ratio (> 1: packing pays). CPU time of this process, 1 thread.

    python benchmarks/bench_packed.py [--quick] [--runs 8] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import torch

from gradtrace.training.packed import train_alone, train_packed


def _clock(device: str) -> float:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return time.perf_counter()
    return time.process_time()


def measure(cell: str, runs: int, steps: int, repeats: int, device: str) -> tuple[float, float]:
    """Median seconds per run, packed and alone."""
    model = {"cell": cell, "hidden_size": 32}
    task = {"name": "adding", "seq_len": 100}
    seeds, lrs = list(range(runs)), [1e-3 * (1 + i) for i in range(runs)]
    packed, alone = [], []
    for _ in range(repeats):
        start = _clock(device)
        train_packed(model, task, seeds=seeds, lrs=lrs, steps=steps, device=device)
        packed.append((_clock(device) - start) / runs)
        start = _clock(device)
        for seed, lr in zip(seeds, lrs, strict=True):
            train_alone(model, task, seed=seed, lr=lr, steps=steps, device=device)
        alone.append((_clock(device) - start) / runs)
    return statistics.median(packed), statistics.median(alone)


def main() -> None:
    """Parse flags, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and one repeat")
    parser.add_argument("--runs", type=int, default=8, help="runs trained together (default 8)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    torch.set_num_threads(1)
    steps, repeats = (20, 1) if args.quick else (50, 3)
    print(
        f"{args.runs} runs x {steps} steps, H=32, adding T=100, batch 32, Adam, {args.device}, "
        f"1 thread; load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'cell':6} {'packed runs/h':>14} {'alone runs/h':>13} {'ratio':>6}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # vmap's note on its LSTM fallback
        for cell in ("rnn", "gru", "lstm"):
            packed, alone = measure(cell, args.runs, steps, repeats, args.device)
            print(f"{cell:6} {3600 / packed:>14.0f} {3600 / alone:>13.0f} {alone / packed:>6.2f}")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
