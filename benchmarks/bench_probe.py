"""Benchmark: probe() of an LSTM with H = 128, T = 200, batch 32 (the web lab's heaviest default).

Prints the median wall time of each variant, measured side by side with interleaved repeats, the
split of a probe into trace / dynamics (Jacobians, Lyapunov exponents, products) / rest (replay
for health is in "dynamics"; spectra, health and advice in "rest"; building the model and the
batch is "setup"), and the ratio of a probe to one plain forward + backward of the same model.

Then (the issue's target) probe() of an LSTM with H = 256 at T = 1000, 1 and 2 layers, in each
precision (goal: <= 0.7 s for 1 layer, 1.4 s for 2), and the cost against T up to --max-steps
(per-step seconds should stay flat: cost linear in T).

    python benchmarks/bench_probe.py [--quick] [--threads N] [--max-steps 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from gradtrace.diagnosis import ProbeSpec, probe
from gradtrace.models import ModelSpec, build_model

HIDDEN, STEPS, BATCH = 128, 200, 32


def plain_step(dtype: torch.dtype) -> float:
    """One forward + backward of the same model without any tracing (the floor)."""
    torch.manual_seed(0)
    model = build_model(ModelSpec(cell="lstm", hidden_size=HIDDEN)).to(dtype)
    x = torch.randn(BATCH, STEPS, 1, dtype=dtype)
    started = time.perf_counter()
    model(x).sum().backward()
    return time.perf_counter() - started


def _seconds(spec: ProbeSpec) -> tuple[float, dict[str, float], str, float]:
    """Wall seconds of one probe, its split, the precision the trace used, and CPU seconds."""
    started = time.process_time()
    result = probe(spec)
    cpu = time.process_time() - started
    split = dict(result.diagnosis.timings)
    split["setup"] = result.seconds - sum(split.values())
    return result.seconds, split, result.dtype, cpu


def target(repeats: int, max_steps: int) -> None:
    """LSTM H=256 at T=1000 (1 and 2 layers) per precision, then seconds per step against T."""
    print(f"\nLSTM H=256 T=1000 batch=32 (goal 0.7 s per layer); load {os.getloadavg()[0]:.2f}")
    for layers in (1, 2):
        model = ModelSpec(cell="lstm", hidden_size=256, num_layers=layers)
        for dtype in ("float64", "float32", "auto"):
            spec = ProbeSpec(model=model, seq_len=1000, batch_size=BATCH, dtype=dtype)
            runs = [_seconds(spec) for _ in range(repeats)]
            median = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[3] for r in runs)
            split = {k: statistics.median(r[1][k] for r in runs) for k in runs[0][1]}
            parts = ", ".join(f"{k} {v:.3f}" for k, v in split.items())
            print(
                f"  {layers} layer(s) {dtype:8s} {median:7.3f} s wall, {cpu:7.3f} s cpu "
                f"({median / (0.7 * layers):.2f} of goal; trace in {runs[0][2]}; {parts})",
                flush=True,
            )
    print(f"\nprobe cost against T (LSTM H=256, 1 layer, float64); load {os.getloadavg()[0]:.2f}")
    model = ModelSpec(cell="lstm", hidden_size=256)
    for steps in [t for t in (1000, 3000, 10000, 30000, 100000) if t <= max_steps]:
        seconds, split, _, cpu = _seconds(ProbeSpec(model=model, seq_len=steps, batch_size=BATCH))
        print(
            f"  T={steps:>6} {seconds:8.2f} s wall {cpu:8.2f} s cpu   "
            f"{cpu / steps * 1e3:6.3f} ms cpu per step   "
            + ", ".join(f"{k} {v:.2f}" for k, v in split.items()),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--max-steps", type=int, default=10000, help="largest T of the scaling")
    parser.add_argument("--skip-small", action="store_true", help="only the H=256 T=1000 part")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    if not args.skip_small:
        small(repeats)
    target(1 if args.quick else 3, args.max_steps)


def small(repeats: int) -> None:
    """The web lab's heaviest default (H=128, T=200): probe per precision vs plain fwd+bwd."""
    model = ModelSpec(cell="lstm", hidden_size=HIDDEN)
    specs = {
        "probe float64": ProbeSpec(model=model, seq_len=STEPS, batch_size=BATCH),
        "probe float32": ProbeSpec(model=model, seq_len=STEPS, batch_size=BATCH, dtype="float32"),
    }
    probe(specs["probe float64"])  # warm-up: imports, allocator, kernels
    times: dict[str, list[float]] = {name: [] for name in [*specs, "plain fwd+bwd float64"]}
    cpu: dict[str, list[float]] = {name: [] for name in specs}
    splits: dict[str, list[dict[str, float]]] = {name: [] for name in specs}
    for _ in range(repeats):  # interleaved, so load changes hit every variant alike
        for name, spec in specs.items():
            started = time.process_time()
            result = probe(spec)
            cpu[name].append(time.process_time() - started)
            times[name].append(result.seconds)
            split = dict(result.diagnosis.timings)
            split["setup"] = result.seconds - sum(split.values())
            splits[name].append(split)
        times["plain fwd+bwd float64"].append(plain_step(torch.float64))
    floor = statistics.median(times["plain fwd+bwd float64"])
    print(
        f"LSTM H={HIDDEN} T={STEPS} batch={BATCH}, {torch.get_num_threads()} thread(s), "
        f"median of {repeats}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        line = f"  {name:24s} {median:7.3f} s   {median / floor:5.1f}x plain fwd+bwd"
        if name in splits:
            parts = {k: statistics.median(s[k] for s in splits[name]) for k in splits[name][0]}
            line += f"   cpu {statistics.median(cpu[name]):.3f} s"
            line += "   (" + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()) + ")"
        print(line)
    ratio = statistics.median(times["probe float32"]) / statistics.median(times["probe float64"])
    print(f"  float32 / float64 probe time: {ratio:.2f}")


if __name__ == "__main__":
    main()
