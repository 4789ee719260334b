"""IndRNN: element-wise recurrence, weights kept in |u| <= u_max."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .reference import F64, B, T, _g, _retain


class IndRNNCell(nn.Module):
    """h_t = relu(W x_t + u * h_{t-1} + b), |u| clamped to u_max (Li et al. 2018)."""

    def __init__(self, input_size: int, hidden: int, u_max: float = 2.0) -> None:
        super().__init__()
        self.weight_ih = nn.Parameter(torch.randn(hidden, input_size) * 0.5)
        self.u = nn.Parameter(torch.rand(hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.u_max = u_max

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        u = self.u.clamp(-self.u_max, self.u_max)
        return torch.relu(F.linear(x, self.weight_ih, self.bias) + u * h)


class IndRNN(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.cell = IndRNNCell(2, hidden)
        self.head = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 2)
        h = x.new_zeros(x.shape[0], self.hidden)
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)
        return self.head(h)


class IndRNNEntry:
    name = "indrnn"
    cells: ClassVar[dict] = {IndRNNCell: None}

    def build(self) -> nn.Module:
        torch.manual_seed(5)
        return IndRNN().double()

    def batch(self, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(B, T, 2, generator=g, dtype=F64), torch.randn(
            B, 1, generator=g, dtype=F64
        )

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        cell = model.cell
        w, u, b = (p.detach().clone().requires_grad_() for p in (cell.weight_ih, cell.u, cell.bias))
        h = torch.zeros(B, 6, dtype=F64)
        hs = []
        for t in range(T):
            h = _retain(torch.relu(x[:, t] @ w.T + b + u.clamp(-2, 2) * h))
            hs.append(h)
        F.mse_loss(model.head(h), y).backward()
        return {"cell": _g(hs)}
