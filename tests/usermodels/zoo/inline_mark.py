"""An inline recurrence with no module per step, marked."""

from __future__ import annotations

import torch
from torch import nn

import gradtrace

from .indrnn import IndRNNEntry
from .reference import _last_state_reference


class InlineRNN(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.U = nn.Parameter(torch.randn(2, hidden) * 0.5)
        self.W = nn.Parameter(torch.randn(hidden, hidden) / hidden**0.5)
        self.head = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.new_zeros(x.shape[0], self.hidden)
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.U + h @ self.W)
            h = gradtrace.mark(h, "inline")
        return self.head(h)


class InlineEntry(IndRNNEntry):
    name = "inline_mark"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(7)
        return InlineRNN().double()

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        u, w = model.U.detach().clone(), model.W.detach().clone().requires_grad_()
        return _last_state_reference(
            model, y, "inline", lambda t, h: torch.tanh(x[:, t] @ u + h @ w)
        )
