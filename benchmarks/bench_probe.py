"""Benchmark: probe() of an LSTM with H = 128, T = 200, batch 32 (the web lab's heaviest default).

Prints the median wall time of each variant, measured side by side with interleaved repeats, the
split of a probe into trace / dynamics (Jacobians, Lyapunov exponents, products) / rest (replay
for health is in "dynamics"; spectra, health and advice in "rest"; building the model and the
batch is "setup"), and the ratio of a probe to one plain forward + backward of the same model.

    python benchmarks/bench_probe.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
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
