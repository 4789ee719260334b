"""Claims about cost: parameters and step time of RNN / LSTM / GRU, and truncated BPTT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from gradtrace.audit.claim import Finding, claim, graded
from gradtrace.audit.measure import (
    build,
    interleaved_medians,
    last_step_loss,
    noise,
    num,
    one_thread,
)
from gradtrace.numerics import flush_denormal

CELLS = ("rnn", "gru", "lstm")


@contextmanager
def timing() -> Iterator[None]:
    """Time on one thread with subnormals flushed (how the study trains), restoring both after."""
    with one_thread(), flush_denormal():
        yield


def _step(model: torch.nn.Module, x: torch.Tensor):
    def run() -> None:
        model.zero_grad(set_to_none=True)
        last_step_loss(model(x)).backward()

    return run


@claim(
    id="rnn-lstm-gru-cost",
    seeds=("000", "003"),
    text="A GRU has fewer parameters than an LSTM and runs faster; a plain RNN has the fewest "
    "parameters and is the fastest; LSTMs cost the most.",
    method="parameters counted; forward + backward time per batch of torch's fused kernels, "
    "interleaved repeats, median, one thread",
    theme="architectures",
)
def rnn_lstm_gru_cost(ctx: Any) -> Finding:
    """Parameter counts and median step times at two sizes, with ratios to the LSTM."""
    budget = ctx.budget
    x = noise(budget.timing_batch, budget.timing_len, seed=ctx.seed, dtype=torch.float32)
    sizes = (budget.trace_hidden, 2 * budget.trace_hidden)
    by_size: dict[str, Any] = {}
    for hidden in sizes:
        models = {
            cell: build({"cell": cell}, hidden=hidden, seed=ctx.seed, dtype=torch.float32)
            for cell in CELLS
        }
        with timing():
            seconds = interleaved_medians(
                {cell: _step(m, x) for cell, m in models.items()}, repeats=budget.timing_repeats
            )
        by_size[str(hidden)] = {
            "recurrent_parameters": {
                cell: sum(p.numel() for p in m.layers.parameters()) for cell, m in models.items()
            },
            "seconds_per_step": seconds,
            "time_relative_to_lstm": {c: seconds[c] / seconds["lstm"] for c in CELLS},
        }
    evidence = {
        "by_hidden_size": by_size,
        "setting": f"T={budget.timing_len}, batch {budget.timing_batch}, float32, fused torch "
        f"kernels, forward + backward, one thread, {budget.timing_repeats} interleaved repeats",
    }
    fewer = all(
        r["recurrent_parameters"]["rnn"]
        < r["recurrent_parameters"]["gru"]
        < r["recurrent_parameters"]["lstm"]
        for r in by_size.values()
    )
    out_of_order = [
        f"{a.upper()} is not faster than {b.upper()} at H={h}"
        for h, r in by_size.items()
        for a, b in (("rnn", "gru"), ("gru", "lstm"))
        if r["seconds_per_step"][a] >= r["seconds_per_step"][b]
    ]
    params = by_size[str(sizes[0])]["recurrent_parameters"]
    times = "; ".join(
        f"H={h}: RNN {num(r['time_relative_to_lstm']['rnn'], 2)}, GRU "
        f"{num(r['time_relative_to_lstm']['gru'], 2)}"
        for h, r in by_size.items()
    )
    summary = (
        f"recurrent parameters (H={sizes[0]}) RNN {params['rnn']}, GRU {params['gru']}, LSTM "
        f"{params['lstm']}; time per step relative to the LSTM: {times}"
    )
    return graded(
        summary,
        evidence,
        full=fewer and not out_of_order,
        partial=fewer,
        caveat=f": {'; '.join(out_of_order)}",
    )


@claim(
    id="truncated-bptt-tradeoff",
    seeds=("002",),
    text="Truncated backpropagation through time shortens the unrolled depth: it costs less "
    "per step but cannot learn dependencies longer than its window.",
    method="time per training step (gradtrace.training forward_backward) with and without "
    "truncation, and the exact gradient reaching inputs outside the window",
    theme="architectures",
)
def truncated_bptt_tradeoff(ctx: Any) -> Finding:
    """Cheaper steps; the gradient w.r.t. every input before the window is exactly zero."""
    from gradtrace.tasks import TaskSpec, make_task
    from gradtrace.training.tbptt import forward_backward

    budget = ctx.budget
    T = budget.timing_len
    window = max(2, T // 5)
    task = make_task(TaskSpec(name="adding", seq_len=T))
    x, y = task.sample(budget.timing_batch, generator=torch.Generator().manual_seed(ctx.seed))
    model = build(
        {"cell": "lstm", "input_size": 2},
        hidden=budget.trace_hidden,
        seed=ctx.seed,
        dtype=torch.float32,
    )

    def step(tbptt: int | None):
        def run() -> None:
            model.zero_grad(set_to_none=True)
            forward_backward(model, task, x, y, tbptt=tbptt)

        return run

    with timing():
        seconds = interleaved_medians(
            {"full": step(None), "truncated": step(window)}, repeats=budget.timing_repeats
        )
    reach = {}
    start = ((T - 1) // window) * window  # where the last chunk, the one with the loss, starts
    exact = model.double()
    for label, tbptt in (("full", None), ("truncated", window)):
        inputs = x.double().clone().requires_grad_(True)
        exact.zero_grad(set_to_none=True)
        forward_backward(exact, task, inputs, y.double(), tbptt=tbptt)
        grad = inputs.grad.norm(dim=-1).mean(dim=0)  # (T,)
        reach[label] = {
            "max_grad_before_window": float(grad[:start].max()),
            "mean_grad_in_window": float(grad[start:].mean()),
        }
    cheaper = seconds["truncated"] < seconds["full"]
    capped = reach["truncated"]["max_grad_before_window"] == 0.0
    evidence = {
        "seconds_per_step": seconds,
        "speedup": seconds["full"] / seconds["truncated"],
        "input_gradients": reach,
        "setting": f"LSTM H={budget.trace_hidden}, adding T={T}, window {window}, batch "
        f"{budget.timing_batch}",
    }
    summary = (
        f"truncation to {window} of {T} steps: {num(seconds['full'] / seconds['truncated'], 2)}x "
        f"faster per step; gradient reaching inputs before the window: "
        f"{reach['truncated']['max_grad_before_window']:g} (full BPTT: "
        f"{num(reach['full']['max_grad_before_window'])})"
    )
    return graded(summary, evidence, full=cheaper and capped, partial=capped)
