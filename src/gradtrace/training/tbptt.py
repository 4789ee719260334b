"""One forward/backward pass of a batch, over the whole sequence or in truncated-BPTT chunks.

Truncated BPTT (tbptt=k) splits the sequence into chunks of k steps. Each chunk starts from the
previous chunk's final hidden state *detached*, so gradients flow back at most k steps (to the
chunk start). The chunk losses are back-propagated one by one and their gradients add up in
``.grad``; the optimizer then takes ONE step per batch, so a "step" means the same thing with and
without truncation and clipping sees the whole batch's gradient. Chunks without targets (every
chunk but the last, for last-step readouts) run without autograd. Chunks run through
`gradtrace.training.stateful.forward_chunk`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradtrace.tasks import Task
from gradtrace.training.stateful import forward_chunk


def detach_state(state: Any) -> Any:
    """The same (nested) hidden state with every tensor cut from the autograd graph."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state


def forward_backward(
    model: nn.Module,
    task: Task,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    tbptt: int | None,
    vanishing_reg: float = 0.0,
) -> torch.Tensor:
    """Accumulate d(loss)/d(params) for one batch into ``.grad``; return the loss (detached).

    x: (B, T, I). With tbptt=None (or >= T) this is plain backpropagation through time; with
    ``vanishing_reg`` > 0 the gradient is that of loss + vanishing_reg * Omega (Pascanu et al.
    2013, `gradtrace.training.regularizer`), the returned loss still the task's alone.
    """
    if vanishing_reg > 0:
        from gradtrace.training.regularizer import regularized_backward

        return regularized_backward(model, task, x, y, vanishing_reg)[0]
    seq_len = x.shape[1]
    if tbptt is None or tbptt >= seq_len:
        loss = task.loss(model(x), y)
        loss.backward()
        return loss.detach()
    state = None
    total = torch.zeros((), device=x.device)
    for start in range(0, seq_len, tbptt):
        stop = min(start + tbptt, seq_len)
        chunk = x[:, start:stop]  # (B, k, I)
        if task.readout == "last" and stop < seq_len:
            with torch.no_grad():
                _, state = forward_chunk(model, chunk, state)
            continue
        out, state = forward_chunk(model, chunk, state)
        if task.readout == "all":
            # the loss is a mean over steps: this chunk's share of the full-sequence loss
            loss = task.loss(out, y[:, start:stop]) * ((stop - start) / seq_len)
        else:
            loss = task.loss(out, y)
        loss.backward()
        total = total + loss.detach()
        state = detach_state(state)
    return total
