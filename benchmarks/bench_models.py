"""Forward+backward time of RecurrentNet backends: fused torch kernels vs the step loop over cells.

Variants, measured interleaved in one run (median of repeats), per cell kind:
  fused   torch nn.RNN / nn.LSTM / nn.GRU
  loop    gradtrace cells, input projection precomputed for all steps in one matmul
  naive   gradtrace cells, each step projecting its own input (what the loop avoids)
Prints ratios to fused. Run: python benchmarks/bench_models.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gradtrace.models import ModelSpec, build_model
from gradtrace.numerics import flush_denormal


def _naive_forward(model, x):
    out = x
    for layer in model.layers:
        state, outputs = None, []
        for t in range(out.shape[1]):
            state = layer(out[:, t], state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        out = torch.stack(outputs, dim=1)
    return model.readout(out[:, -1])


def _step_time(forward, model, x) -> float:
    start = time.process_time()
    forward(model, x).sum().backward()
    model.zero_grad(set_to_none=True)
    return time.process_time() - start


def main() -> None:
    """Run the comparison and print one row per cell kind."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (fewer repeats, T=50)")
    args = parser.parse_args()
    repeats, seq_len = (3, 50) if args.quick else (9, 200)
    torch.set_num_threads(1)
    x = torch.randn(64, seq_len, 64)
    print(
        f"batch 64, T={seq_len}, hidden 64, input 64, float32, 1 thread; "
        f"process CPU time, median of {repeats}"
    )
    print(f"{'cell':6} {'fused ms':>9} {'loop/fused':>11} {'naive/fused':>12} {'naive/loop':>11}")
    with flush_denormal():
        for cell in ("rnn", "lstm", "gru"):
            spec = ModelSpec(cell=cell, input_size=64, hidden_size=64)
            torch.manual_seed(0)
            models = {
                "fused": build_model(spec.model_copy(update={"backend": "fused"})),
                "loop": build_model(spec.model_copy(update={"backend": "loop"})),
            }
            variants = {
                "fused": (lambda m, v: m(v), models["fused"]),
                "loop": (lambda m, v: m(v), models["loop"]),
                "naive": (_naive_forward, models["loop"]),
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(repeats + 1):  # the first round warms up and is dropped
                for name, (forward, model) in variants.items():
                    times[name].append(_step_time(forward, model, x))
            median = {name: statistics.median(values[1:]) for name, values in times.items()}
            print(
                f"{cell:6} {1000 * median['fused']:9.1f} {median['loop'] / median['fused']:11.2f}"
                f" {median['naive'] / median['fused']:12.2f}"
                f" {median['naive'] / median['loop']:11.2f}"
            )


if __name__ == "__main__":
    main()
