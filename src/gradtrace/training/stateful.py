"""Running a model over one chunk of a sequence from a given hidden state (for truncated BPTT).

A model runs in chunks when its forward takes ``state=`` and ``return_state=True`` (gradtrace's
RecurrentNet does: one state per layer, h (B, H) or (h, c) for an LSTM, None = zeros).
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
    return accepts_state(model)


def forward_chunk(model: nn.Module, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """Run ``model`` over x (B, k, I) starting from ``state``; return (output, final state).

    The output has the model's usual shape for this chunk: (B, O) from the chunk's last step
    for readout "last", (B, k, O) for readout "all".
    """
    if not accepts_state(model):
        raise TypeError(
            f"{type(model).__name__}.forward takes no state= and return_state=; "
            "it cannot run in chunks"
        )
    return model(x, state=state, return_state=True)
