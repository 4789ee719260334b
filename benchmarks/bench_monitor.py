"""Per-step cost of gradtrace's Monitor on the example language model, against alternatives.

Runs the character LSTM of examples/char_lm.py (embedding -> 2-layer LSTM 128 -> linear, batch
32, BPTT 35, clip 0.25) on CPU with one thread, in interleaved rounds, for these loops:

- plain: no monitoring, torch.nn.utils.clip_grad_norm_(0.25)
- monitor: the default Monitor (clipping done by it, a profile every 100 steps)
- monitor, no profiles: the same with profile_every=0 (the always-on part alone)
- monitor, loop clips: the default Monitor without clip=, the loop calling clip_grad_norm_
  itself (the monitor then measures raw norms at the end of backward and final ones at step)
- monitor + JSONL: the default Monitor writing every step to a JSONL file
- histograms: torch.histc of every parameter and gradient each step, copied to the host (what a
  log="all" style logger does)
- TensorBoard histograms: SummaryWriter.add_histogram of every gradient each step

Prints CPU seconds per step (process time, so other programs on a shared machine do not count)
as the median over rounds and the mean over all steps, with the ratio to plain. The mean
includes the profile steps; the median shows the always-on cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from char_lm import CharLM, batchify, make_corpus

from gradtrace.monitor import Monitor

CLIP = 0.25


class Loop:
    """One training loop variant with its own model, optimizer, data position and extras."""

    def __init__(self, name: str, data: torch.Tensor, vocab: int, *, bptt: int, folder: Path):
        torch.manual_seed(0)
        self.name, self.data, self.vocab, self.bptt = name, data, vocab, bptt
        self.model = CharLM(vocab)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=2.0)
        self.position, self.state, self.step_count = 0, None, 0
        self.monitor = self.writer = None
        if name.startswith("monitor"):
            sinks = [folder / "bench.jsonl"] if name == "monitor + JSONL" else []
            every = 0 if name == "monitor, no profiles" else 100
            clip = None if name == "monitor, loop clips" else "norm"
            self.monitor = Monitor(self.model, self.optimizer, clip=clip, clip_value=CLIP,
                                   profile_every=every, sinks=sinks)  # fmt: skip
        if name == "TensorBoard histograms":
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(folder / "tb"))

    def run(self, steps: int) -> float:
        """Seconds for ``steps`` training steps."""
        started = time.process_time()
        for _ in range(steps):
            self._step()
        return time.process_time() - started

    def _step(self) -> None:
        if self.position + self.bptt + 1 > self.data.size(1):
            self.position, self.state = 0, None
        chunk = self.data[:, self.position : self.position + self.bptt + 1]  # (B, bptt + 1)
        self.position += self.bptt
        if self.state is not None:
            self.state = tuple(s.detach() for s in self.state)
        logits, self.state = self.model(chunk[:, :-1], self.state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, self.vocab), chunk[:, 1:].reshape(-1))
        self.optimizer.zero_grad()
        loss.backward()
        if self.monitor is None or self.monitor.clip is None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        if self.name == "histograms":
            for p in self.model.parameters():
                torch.histc(p.grad, bins=64).cpu().numpy()
                torch.histc(p.detach(), bins=64).cpu().numpy()
        if self.writer is not None:
            for name, p in self.model.named_parameters():
                self.writer.add_histogram(name, p.grad, self.step_count)
        self.optimizer.step()
        self.step_count += 1

    def close(self) -> None:
        """Close the monitor and writer."""
        if self.monitor is not None:
            self.monitor.close()
        if self.writer is not None:
            self.writer.close()


def main(argv: list[str] | None = None) -> None:
    """Interleave the loops round by round and print the timings and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a short run (3 rounds of 20 steps)")
    p.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    p.add_argument("--steps", type=int, default=20, help="steps per loop per round (default 20)")
    args = p.parse_args(argv)
    rounds, steps = (3, 20) if args.quick else (args.rounds, args.steps)
    torch.set_num_threads(1)
    text = make_corpus(200_000)
    vocab = {c: i for i, c in enumerate(sorted(set(text)))}
    data = batchify(text, vocab, 32)
    names = ["plain", "monitor", "monitor, no profiles", "monitor, loop clips",
             "monitor + JSONL", "histograms", "TensorBoard histograms"]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        loops = [Loop(n, data, len(vocab), bptt=35, folder=Path(folder)) for n in names]
        for loop in loops:
            loop.run(3)  # warm up
        times: dict[str, list[float]] = {n: [] for n in names}
        for r in range(rounds):
            order = loops if r % 2 == 0 else loops[::-1]  # alternate the order between rounds
            for loop in order:
                times[loop.name].append(loop.run(steps) / steps)
        for loop in loops:
            loop.close()
    hook = _hook_seconds(data, len(vocab))
    base_median = statistics.median(times["plain"])
    base_mean = statistics.fmean(times["plain"])
    print(f"char LSTM LM, CPU 1 thread, {rounds} rounds x {steps} steps per loop")
    print(f"{'loop':<24}{'median s/step':>14}{'ratio':>8}{'mean s/step':>13}{'ratio':>8}")
    print("(CPU seconds per step)")
    for name in names:
        median, mean = statistics.median(times[name]), statistics.fmean(times[name])
        print(
            f"{name:<24}{median:>14.4f}{median / base_median:>8.3f}"
            f"{mean:>13.4f}{mean / base_mean:>8.3f}"
        )
    share = hook / base_median
    print(
        f"the monitor's own work per step, timed alone: {hook * 1e6:.0f} us = {share:.2%} of a step"
    )
    traced = _profiled_step_seconds(data, len(vocab)) / base_median
    print(
        f"a profiled step (torch's step, side replay, unit health) costs {traced:.2f} steps: "
        f"+{(traced - 1) / 100:.2%} per step at profile_every=100; "
        f"estimated total overhead {share + (traced - 1) / 100:.2%}"
    )


def _profiled_step_seconds(data: torch.Tensor, vocab: int, steps: int = 10) -> float:
    """CPU seconds per training step when every step is profiled (profile_every=1)."""
    with tempfile.TemporaryDirectory() as folder:
        loop = Loop("monitor, no profiles", data, vocab, bptt=35, folder=Path(folder))
        loop.monitor.close()
        loop.monitor = Monitor(loop.model, loop.optimizer, clip="norm", clip_value=CLIP,
                               profile_every=1)  # fmt: skip
        loop.run(2)
        elapsed = loop.run(steps) / steps
        loop.close()
    return elapsed


def _hook_seconds(data: torch.Tensor, vocab: int, calls: int = 300) -> float:
    """Seconds per Monitor.step() (norms, clipping, subnormal sample, amortized flush) alone."""
    torch.manual_seed(0)
    model = CharLM(vocab)
    chunk = data[:, :36]
    logits, _ = model(chunk[:, :-1])
    nn.functional.cross_entropy(logits.reshape(-1, vocab), chunk[:, 1:].reshape(-1)).backward()
    monitor = Monitor(model, clip="norm", clip_value=1e9, profile_every=0)
    for _ in range(30):
        monitor.step()
    started = time.process_time()
    for _ in range(calls):
        monitor.step()
    elapsed = (time.process_time() - started) / calls
    monitor.close()
    return elapsed


if __name__ == "__main__":
    main()
