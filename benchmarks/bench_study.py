"""Study throughput: 2 local workers against 1 on a small grid of real runs; quick preset wall time.

    python benchmarks/bench_study.py                # speed-up, 2 interleaved repeats
    python benchmarks/bench_study.py --quick        # speed-up, one repeat of a smaller grid
    python benchmarks/bench_study.py --preset-time  # also run the quick preset (2 workers)

Every run has a fixed number of steps and no early stop, so both settings do the same work.
Times include starting the worker processes (a real cost of every study).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gradtrace.study.loading import spec_from_dict
from gradtrace.study.presets import preset
from gradtrace.study.runner import run_study


def grid(quick: bool) -> dict:
    """A small grid of real runs with fixed work (no early stop)."""
    steps = 60 if quick else 120
    return {
        "name": "bench",
        "tasks": ["adding"],
        "seq_lens": [50, 100] if quick else [50, 100, 150],
        "seeds": [0, 1],
        "model": {"hidden_size": 32},
        "train": {"eval_every": steps, "eval_batch_size": 64, "profiles": False},
        "budget": {"max_steps": steps, "max_seconds": 600.0},
        "variant": [{"name": "tanh RNN"}, {"name": "GRU", "cell": "gru"}],
    }


def timed_study(spec, workers: int) -> tuple[float, int]:
    """Wall seconds of a whole study in a fresh folder, and the number of runs."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_study(spec, Path(out), workers=workers)
        return time.perf_counter() - start, summary.ran


def speedup(quick: bool) -> None:
    """Median wall time with 1 and 2 workers, interleaved, and their ratio."""
    spec = spec_from_dict(grid(quick))
    repeats = 1 if quick else 2
    times: dict[int, list[float]] = {1: [], 2: []}
    runs = 0
    for _ in range(repeats):
        for workers in (1, 2):
            seconds, runs = timed_study(spec, workers)
            times[workers].append(seconds)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"grid: {runs} real runs, {repeats} interleaved repeat(s)")
    print(f"  1 worker : {one:6.1f} s")
    print(f"  2 workers: {two:6.1f} s")
    print(f"  speed-up 2 vs 1 workers: {one / two:.2f}x (goal >= 1.8x)")


def preset_time() -> None:
    """Wall time of the quick preset on 2 workers (goal: <= 300 s), with its outcome counts."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_study(preset("quick"), Path(out), workers=2)
        seconds = time.perf_counter() - start
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    print(
        f"quick preset: {summary.ran} runs in {seconds:.0f} s on 2 workers "
        f"({seconds / 300:.2f} of the 300 s goal); {counts}"
    )


def main() -> None:
    """Parse flags and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat of a smaller grid")
    parser.add_argument("--preset-time", action="store_true", help="also time the quick preset")
    args = parser.parse_args()
    speedup(args.quick)
    if args.preset_time:
        preset_time()


if __name__ == "__main__":
    main()
