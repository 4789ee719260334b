"""Benchmark: gradtrace's trainer against a plain PyTorch loop written as a tutorial writes it.

Same model (nn.LSTM H=64 + linear readout), adding problem, batch 64, Adam (default lr),
clip_grad_norm_ 1.0, trained from the same initial weights at T = 200 and 400. Variants, run
interleaved (median over repeats):

- tutorial            default threads, subnormals not flushed, batch built in the loop, loss.item()
- tutorial+flush      the same with torch.set_flush_denormal(True)
- tutorial+1thread    the same with torch.set_num_threads(1)
- tutorial+both       both of the above
- gradtrace           gradtrace.train with torch's default threads (flushes subnormals, records
                      norms, clip rate, curves)
- gradtrace 1 thread  the same with one thread, as each worker of a study runs

Prints steps per second and each variant's speed-up over the tutorial loop, then splits the
win into threads, subnormal flushing and the rest of the trainer. It also measures this CPU's
subnormal penalty directly: an elementwise multiply and a matrix product on subnormal vs normal
floats, and a fresh nn.LSTM's forward+backward at T = 400 unflushed vs flushed. An elementwise
multiply can cost the same on both while the matrix kernels pay hundreds of times per subnormal
operand (measured on this project's Intel Xeon VM: 1.0x and 420-980x); backward passes through
vanishing gradients feed subnormal gradients to those kernels. Where neither pays, flushing
gains nothing. Run: python benchmarks/bench_trainer.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from gradtrace.models import ModelSpec
from gradtrace.tasks import TaskSpec
from gradtrace.training import TrainSpec, train

HIDDEN, BATCH = 64, 64


def _tutorial_batch(seq_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem the way a tutorial writes it: a Python loop over the batch."""
    values = torch.rand(BATCH, seq_len)
    markers = torch.zeros(BATCH, seq_len)
    targets = torch.zeros(BATCH, 1)
    for b in range(BATCH):
        i = torch.randint(0, seq_len // 2, (1,)).item()
        j = torch.randint(seq_len // 2, seq_len, (1,)).item()
        markers[b, i] = markers[b, j] = 1.0
        targets[b] = values[b, i] + values[b, j]
    return torch.stack([values, markers], dim=-1), targets


class _TutorialModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def tutorial(seq_len: int, steps: int, *, flush: bool, threads: int | None) -> float:
    """Seconds per step of the plain loop (optionally with flushing / fewer threads)."""
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    torch.set_flush_denormal(flush)
    try:
        torch.manual_seed(0)
        model = _TutorialModel()
        optimizer = torch.optim.Adam(model.parameters())
        criterion = nn.MSELoss()
        losses = []
        start = time.perf_counter()
        for _ in range(steps):
            x, y = _tutorial_batch(seq_len)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
        return (time.perf_counter() - start) / steps
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(previous_threads)


def gradtrace_trainer(seq_len: int, steps: int, *, threads: int | None) -> float:
    """Seconds per step of gradtrace.train, whole call (model build, one final eval) included."""
    spec = TrainSpec(
        lr=1e-3, clip="norm", clip_value=1.0, max_steps=steps, eval_every=steps,
        eval_batch_size=BATCH, threads=threads, profiles=False, device="cpu",
    )  # fmt: skip
    start = time.perf_counter()
    record = train(
        ModelSpec(cell="lstm", hidden_size=HIDDEN), TaskSpec(name="adding", seq_len=seq_len), spec
    )
    assert record.status != "failed", record.error
    return (time.perf_counter() - start) / steps


def _subnormal_ratio(shape: tuple[int, int], op: Callable[[torch.Tensor], object], repeats: int):
    """Median time of ``op`` on a tensor of ``shape`` full of subnormals over one of normals."""
    torch.set_flush_denormal(False)
    timings = {}
    for name, value in (("subnormal", 1e-39), ("normal", 1e-3)):
        data = torch.full(shape, value)
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            op(data)
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples)
    return timings["subnormal"] / timings["normal"]


def subnormal_penalty(repeats: int = 20) -> float:
    """How much slower this CPU multiplies subnormal floats than normal ones (flushing off)."""
    factor = torch.full((512, 512), 0.5)
    return _subnormal_ratio((512, 512), lambda data: torch.mul(data, factor), repeats)


def matmul_subnormal_penalty(repeats: int = 20) -> float:
    """The same for a matrix product of subnormal gradients by normal weights, (64, 128) x
    (128, 32) as in an LSTM's backward: matrix kernels can pay where elementwise ones do not."""
    weights = torch.full((128, 32), 0.5)

    def products(grads: torch.Tensor) -> None:
        for _ in range(100):
            torch.mm(grads, weights)

    return _subnormal_ratio((64, 128), products, repeats)


def fresh_lstm_penalty(repeats: int = 5) -> float:
    """Forward+backward of a freshly initialised nn.LSTM (H=32, B=64, T=400, loss on the last
    output, one thread), subnormals kept vs flushed: the gradient through 400 steps falls into
    the subnormal range on the way to zero."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm, x = nn.LSTM(2, 32, batch_first=True), torch.randn(64, 400, 2)
    timings: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeats):
        for flush in (False, True):
            torch.set_flush_denormal(flush)
            start = time.perf_counter()
            lstm(x)[0][:, -1].sum().backward()
            timings[flush].append(time.perf_counter() - start)
    torch.set_flush_denormal(False)
    torch.set_num_threads(threads)
    return statistics.median(timings[False]) / statistics.median(timings[True])


def main() -> None:
    """Measure every variant at T = 200 and 400, interleaved, and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    args = parser.parse_args()
    steps, repeats = (4, 2) if args.quick else (8, 3)
    variants: dict[str, Callable[[int, int], float]] = {
        "tutorial": lambda t, n: tutorial(t, n, flush=False, threads=None),
        "tutorial+flush": lambda t, n: tutorial(t, n, flush=True, threads=None),
        "tutorial+1thread": lambda t, n: tutorial(t, n, flush=False, threads=1),
        "tutorial+both": lambda t, n: tutorial(t, n, flush=True, threads=1),
        "gradtrace": lambda t, n: gradtrace_trainer(t, n, threads=None),
        "gradtrace 1 thread": lambda t, n: gradtrace_trainer(t, n, threads=1),
    }
    print(f"torch {torch.__version__}, default threads {torch.get_num_threads()}, "
          f"{steps} steps x {repeats} repeats (interleaved, median)")  # fmt: skip
    print(
        f"subnormal penalty of this CPU, 1 thread: elementwise multiply "
        f"{subnormal_penalty():.1f}x, matrix product {matmul_subnormal_penalty():.1f}x; "
        f"fresh nn.LSTM H=32 T=400 forward+backward unflushed/flushed {fresh_lstm_penalty():.2f}x"
    )
    for seq_len in (200, 400):
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(repeats):
            for name, run in variants.items():
                times[name].append(run(seq_len, steps))
        base = statistics.median(times["tutorial"])
        print(f"\nT = {seq_len}")
        print(f"{'variant':<20}{'s/step':>9}{'steps/s':>9}{'speed-up':>10}")
        for name, values in times.items():
            per_step = statistics.median(values)
            print(f"{name:<20}{per_step:>9.4f}{1 / per_step:>9.2f}{base / per_step:>9.2f}x")
        med = {name: statistics.median(values) for name, values in times.items()}
        print(
            f"where it comes from: one thread {med['tutorial'] / med['tutorial+1thread']:.2f}x, "
            f"flushing subnormals {med['tutorial+1thread'] / med['tutorial+both']:.2f}x, "
            f"rest of the trainer {med['tutorial+both'] / med['gradtrace 1 thread']:.2f}x"
        )


if __name__ == "__main__":
    main()
