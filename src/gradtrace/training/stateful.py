"""Running a model over one chunk of a sequence from a given hidden state (for truncated BPTT).

A model whose forward takes ``state=`` and ``return_state=True`` is used as it is. gradtrace's
RecurrentNet is run layer by layer here, with the same layers, dropout, residual connections
and readout as its forward, plus an initial state per layer; a test checks that a chunk run from
no state equals ``model(x)`` exactly, so the two cannot drift apart silently.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

# per layer: h (B, H), or (h, c) for an LSTM; None = zeros
State = list[Any] | None


def accepts_state(model: nn.Module) -> bool:
    """Whether ``model.forward`` itself takes ``state`` and ``return_state``."""
    params = inspect.signature(model.forward).parameters
    return "state" in params and "return_state" in params


def supports_chunks(model: nn.Module) -> bool:
    """Whether `forward_chunk` can run ``model`` (needed for truncated BPTT)."""
    from gradtrace.models import RecurrentNet

    return accepts_state(model) or isinstance(model, RecurrentNet)


def forward_chunk(model: nn.Module, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """Run ``model`` over x (B, k, I) starting from ``state``; return (output, final state).

    The output has the model's usual shape for this chunk: (B, O) from the chunk's last step
    for readout "last", (B, k, O) for readout "all".
    """
    if accepts_state(model):
        return model(x, state=state, return_state=True)
    spec = model.spec
    if spec.readout == "attention":
        raise ValueError("readout 'attention' reads the whole sequence; it cannot run in chunks")
    out, final = x, []
    for index, layer in enumerate(model.layers):
        inp = out if index == 0 else model.dropout(out)
        start = None if state is None else state[index]
        if model.backend == "fused":
            h, last = _fused_layer(layer, inp, start)
        else:
            h, last = _loop_layer(layer, inp, start)
        out = h + inp if spec.residual and index >= 1 else h  # (B, k, H)
        final.append(last)
    y = model.readout(out) if spec.readout == "all" else model.readout(out[:, -1])
    return y, final


def _fused_layer(layer: nn.Module, x: torch.Tensor, start: Any) -> tuple[torch.Tensor, Any]:
    """A single-layer torch nn.RNN/LSTM/GRU (batch_first) from state h or (h, c) of (B, H)."""
    if start is None:
        h, last = layer(x)
    elif isinstance(start, tuple):
        h, last = layer(x, (start[0].unsqueeze(0), start[1].unsqueeze(0)))
    else:
        h, last = layer(x, start.unsqueeze(0))
    if isinstance(last, tuple):
        return h, (last[0].squeeze(0), last[1].squeeze(0))
    return h, last.squeeze(0)


def _loop_layer(cell: nn.Module, x: torch.Tensor, start: Any) -> tuple[torch.Tensor, Any]:
    """A gradtrace cell called once per step (hooks see every step) from ``start``."""
    projected = cell.input_projection(x)  # (B, k, G*H)
    state = start
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state, input_proj=projected[:, t])
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs, dim=1), state
