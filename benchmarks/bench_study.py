"""Study throughput: 2 local workers against 1 on a small grid of real runs; quick preset wall time.

    python benchmarks/bench_study.py                # speed-up, 2 interleaved repeats
    python benchmarks/bench_study.py --quick        # speed-up, one repeat of a smaller grid
    python benchmarks/bench_study.py --preset-time  # also run the quick preset (2 workers)
    python benchmarks/bench_study.py --throughput quick   # runs/hour: study vs a plain script
    python benchmarks/bench_study.py --store runs/standard --limit 8   # a finished study's
        runs/hour (from its store, over the time a run was going) vs a plain script timed on
        8 of its runs, evenly spread, one after another

Every run has a fixed number of steps and no early stop, so both settings do the same work.
Times include starting the worker processes (a real cost of every study).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from gradtrace.study.loading import spec_from_dict
from gradtrace.study.presets import preset
from gradtrace.study.runner import run_study
from gradtrace.study.store import open_store


def grid(quick: bool) -> dict:
    """A small grid of real runs with fixed work (no early stop): ~25 s (quick) / ~50 s serial."""
    steps = 200
    return {
        "name": "bench",
        "tasks": ["adding"],
        "seq_lens": [100, 150],
        "seeds": [0, 1] if quick else [0, 1, 2, 3],
        "model": {"hidden_size": 32},
        "train": {"eval_every": steps, "eval_batch_size": 64, "profiles": False},
        "budget": {"max_steps": steps, "max_seconds": 600.0},
        "variant": [{"name": "tanh RNN"}, {"name": "GRU", "cell": "gru"}],
    }


def timed_study(spec, workers: int) -> tuple[float, float, int]:
    """Wall seconds of a whole study in a fresh folder, of its runs only, and the run count.

    "Runs only" spans the first run's start to the last run's end (from the store): the
    executor's share, without validation and process start-up.
    """
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_study(spec, Path(out), workers=workers)
        wall = time.perf_counter() - start
        with open_store(out, readonly=True) as store:
            rows = store.rows()
        span = max(r["finished"] for r in rows) - min(r["started"] for r in rows)
        return wall, span, summary.ran


def speedup(quick: bool) -> None:
    """Median wall time with 1 and 2 workers, interleaved, and their ratio."""
    spec = spec_from_dict(grid(quick))
    repeats = 1 if quick else 2
    walls: dict[int, list[float]] = {1: [], 2: []}
    spans: dict[int, list[float]] = {1: [], 2: []}
    runs = 0
    for _ in range(repeats):
        for workers in (1, 2):
            wall, span, runs = timed_study(spec, workers)
            walls[workers].append(wall)
            spans[workers].append(span)
    print(f"grid: {runs} real runs of fixed length, {repeats} interleaved repeat(s), median")
    print(f"{'':14}{'1 worker':>10}{'2 workers':>11}{'speed-up':>10}")
    for label, data in (("whole study", walls), ("runs only", spans)):
        one, two = statistics.median(data[1]), statistics.median(data[2])
        print(f"{label:14}{one:9.1f}s{two:10.1f}s{one / two:9.2f}x")
    print(f"goal: speed-up >= 1.8x with 2 workers on {os.cpu_count()} cores")


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


def throughput(name: str, limit: int | None) -> None:
    """Runs per hour of a preset: the study (2 local workers) against a plain script that trains
    the same runs one after another in one process (``train`` on one thread, no store)."""
    from gradtrace.study.expand import expand
    from gradtrace.study.worker import train_run

    spec = preset(name)
    runs = expand(spec)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        summary = run_study(spec, Path(out), workers=2)
        study = time.perf_counter() - start
    chosen = runs[:limit] if limit else runs
    start = time.perf_counter()
    for run in chosen:
        train_run(run.config)
    plain = (time.perf_counter() - start) * len(runs) / len(chosen)  # scaled to every run
    note = "" if len(chosen) == len(runs) else f" (plain script timed on {len(chosen)} runs)"
    print(
        f"{name} preset, {summary.ran} runs: study (2 workers) {3600 * len(runs) / study:.0f} "
        f"runs/h, plain script {3600 * len(runs) / plain:.0f} runs/h, ratio {plain / study:.2f}"
        f"{note}; load {os.getloadavg()[0]:.1f}"
    )


def busy_seconds(rows: list[dict]) -> float:
    """Length of the union of the runs' [started, finished] intervals: the time the study was
    running at least one run (the gaps of a study stopped and resumed later do not count)."""
    ended = [r for r in rows if r["started"] is not None and r["finished"] is not None]
    spans = sorted((r["started"], r["finished"]) for r in ended)
    total, end = 0.0, float("-inf")
    for start, finish in spans:
        if finish > end:
            total += finish - max(start, end)
            end = finish
    return total


def store_throughput(folder: str, limit: int) -> None:
    """Runs per hour of a finished study read from its store, against a plain script that trains
    ``limit`` of its runs (evenly spread in finishing order) one after another on one thread,
    scaled to all runs by their share of the runs' recorded wall time."""
    from gradtrace.study.worker import train_run

    with open_store(folder, readonly=True) as store:
        rows = [r for r in store.rows() if r["finished"] and r["wall_time_s"]]
    if not rows or limit < 1:
        raise SystemExit(f"--store: {folder} holds no finished runs (or --limit < 1)")
    rows.sort(key=lambda r: r["finished"])
    busy = busy_seconds(rows)
    chosen = rows[:: max(1, len(rows) // limit)][:limit]
    start = time.perf_counter()
    for row in chosen:
        train_run(row["config"])
    sample = time.perf_counter() - start
    recorded = sum(r["wall_time_s"] for r in rows)
    plain = sample / sum(r["wall_time_s"] for r in chosen) * recorded
    print(
        f"{folder}: {len(rows)} runs; study {3600 * len(rows) / busy:.0f} runs/h over "
        f"{busy / 3600:.2f} h of running (workers busy {recorded / busy:.2f} on average); "
        f"plain script {3600 * len(rows) / plain:.0f} runs/h (timed on {len(chosen)} runs, "
        f"{sample:.0f} s), ratio {plain / busy:.2f}; load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    """Parse flags and run the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat of a smaller grid")
    parser.add_argument("--preset-time", action="store_true", help="also time the quick preset")
    parser.add_argument("--throughput", default=None, help="preset: runs/hour vs a plain script")
    parser.add_argument("--limit", type=int, default=None, help="plain script: first N runs")
    parser.add_argument("--store", default=None, help="a finished study's folder (with --limit)")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    if args.store:
        store_throughput(args.store, args.limit or 8)
        return
    if args.throughput:
        throughput(args.throughput, args.limit)
        return
    speedup(args.quick)
    if args.preset_time:
        preset_time()
    print(
        f"load average (1 min) before {before:.1f}, after {os.getloadavg()[0]:.1f}: other "
        "processes on the cores slow both settings and lower the ratio"
    )


if __name__ == "__main__":
    main()
