"""Scan vs step loop for the diagonal recurrences (minGRU, minLSTM, LRU): time and agreement.

For each cell, T and batch size the same model (same weights) runs forward+backward with
``backend="auto"`` (the chunked / log-space scan of gradtrace.models.frontier.scan) and with
``backend="loop"`` (one Python step per time step), interleaved, median of repeats, process CPU
time, 1 thread, float32. "max rel diff" compares the two outputs in float64 (a separate run):
max |scan - loop| / max |loop|. Also the bare recurrence h_t = a_t h_{t-1} + b_t (no layer
around it): loop vs the chunked scan vs the log-space scan. Prints ratios loop / scan.
Run: python benchmarks/bench_scan.py [--quick] [--batch 1 8]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gradtrace.models import ModelSpec, build_model
from gradtrace.models.frontier.scan import log_scan, loop_scan, scan
from gradtrace.numerics import flush_denormal

CELLS = ("mingru", "minlstm", "lru")


def _time(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.process_time()
    model(x).sum().backward()
    model.zero_grad(set_to_none=True)
    return time.process_time() - start


def _models(cell: str, hidden: int) -> dict[str, torch.nn.Module]:
    spec = ModelSpec(cell=cell, input_size=1, hidden_size=hidden, readout="all")
    built = {}
    for name, backend in (("scan", "auto"), ("loop", "loop")):
        torch.manual_seed(0)  # the same weights for both
        built[name] = build_model(spec.model_copy(update={"backend": backend}))
    return built


def _agreement(models: dict[str, torch.nn.Module], x: torch.Tensor) -> float:
    with torch.no_grad():
        out = {name: m.double()(x.double()) for name, m in models.items()}
    for m in models.values():
        m.float()
    return float((out["scan"] - out["loop"]).abs().max() / out["loop"].abs().max())


def _recurrence(batch: int, steps: int, hidden: int, repeats: int) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    a = (torch.rand(batch, steps, hidden, generator=generator) * 0.5 + 0.5).requires_grad_()
    b = torch.rand(batch, steps, hidden, generator=generator).requires_grad_()
    variants = {
        "loop": lambda: loop_scan(a, b),
        "scan": lambda: scan(a, b),
        "log": lambda: log_scan(a.log(), b.log()),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats + 1):
        for name, run in variants.items():
            start = time.process_time()
            run().sum().backward()
            times[name].append(time.process_time() - start)
            a.grad = b.grad = None
    return {name: statistics.median(values[1:]) for name, values in times.items()}


def main() -> None:
    """Run every comparison and print one row per (cell, T, batch)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T = 200 and 1000, 1 repeat")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8], help="batch sizes")
    parser.add_argument("--hidden", type=int, default=64, help="hidden size H (LRU: N = H)")
    args = parser.parse_args()
    repeats, lengths = (1, (200, 1000)) if args.quick else (3, (1000, 10_000))
    torch.set_num_threads(1)
    print(
        f"hidden {args.hidden}, input 1, readout all, float32, 1 thread; forward+backward, "
        f"process CPU time, median of {repeats} (after one warm-up)"
    )
    print(
        f"{'cell':8} {'T':>6} {'batch':>5} {'loop s':>8} {'scan s':>8} {'loop/scan':>10} "
        f"{'max rel diff':>13}"
    )
    with flush_denormal():
        for cell in CELLS:
            models = _models(cell, args.hidden)
            for steps in lengths:
                for batch in args.batch:
                    x = torch.randn(batch, steps, 1, generator=torch.Generator().manual_seed(1))
                    times: dict[str, list[float]] = {name: [] for name in models}
                    for _ in range(repeats + 1):
                        for name, model in models.items():
                            times[name].append(_time(model, x))
                    loop, fast = (statistics.median(times[n][1:]) for n in ("loop", "scan"))
                    diff = _agreement(models, x)
                    print(
                        f"{cell:8} {steps:6d} {batch:5d} {loop:8.3f} {fast:8.3f} "
                        f"{loop / fast:10.1f} {diff:13.1e}"
                    )
        print("\nthe recurrence alone, h_t = a_t h_{t-1} + b_t, a in [0.5, 1), H =", args.hidden)
        print(f"{'T':>6} {'batch':>5} {'loop s':>8} {'loop/scan':>10} {'loop/log-scan':>14}")
        for steps in lengths:
            for batch in args.batch:
                t = _recurrence(batch, steps, args.hidden, repeats)
                print(
                    f"{steps:6d} {batch:5d} {t['loop']:8.3f} {t['loop'] / t['scan']:10.1f} "
                    f"{t['loop'] / t['log']:14.1f}"
                )


if __name__ == "__main__":
    main()
