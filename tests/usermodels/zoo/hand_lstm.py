"""A hand-written LSTM cell that returns (h, (h, c)), declared once with the decorator."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import gradtrace

from .reference import F64, B, T, _g, _retain


@gradtrace.recurrent_cell(state=lambda out: out[1])
class HandLSTMCell(nn.Module):
    """An LSTM cell written out by hand: one Linear for all gates, returns (h, (h, c))."""

    def __init__(self, input_size: int, hidden: int) -> None:
        super().__init__()
        self.gates = nn.Linear(input_size + hidden, 4 * hidden)
        self.hidden = hidden

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        i, f, g, o = self.gates(torch.cat([x, h], dim=-1)).chunk(4, -1)
        c = torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class HandLSTM(nn.Module):
    def __init__(self, hidden: int = 5) -> None:
        super().__init__()
        self.cell = HandLSTMCell(3, hidden)
        self.head = nn.Linear(hidden, 2)
        self.hidden = hidden

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = (x.new_zeros(x.shape[0], self.hidden), x.new_zeros(x.shape[0], self.hidden))
        outs = []
        for t in range(x.shape[1]):
            out, state = self.cell(x[:, t], state)
            outs.append(out)
        return self.head(torch.stack(outs, 1))


class HandLSTMEntry:
    name = "hand_lstm"
    cells = None  # declared by the decorator

    def build(self) -> nn.Module:
        torch.manual_seed(6)
        return HandLSTM().double()

    def batch(self, seed: int = 0) -> Any:
        g = torch.Generator().manual_seed(seed)
        return torch.randn(B, T, 3, generator=g, dtype=F64), torch.randn(
            B, T, 2, generator=g, dtype=F64
        )

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        lin = model.cell.gates
        w, b = (
            lin.weight.detach().clone().requires_grad_(),
            lin.bias.detach().clone().requires_grad_(),
        )
        h = c = torch.zeros(B, 5, dtype=F64)
        hs, cs = [], []
        for t in range(T):
            i, f, g, o = (torch.cat([x[:, t], h], -1) @ w.T + b).chunk(4, -1)
            c = _retain(torch.sigmoid(f + 1.0) * c + torch.sigmoid(i) * torch.tanh(g))
            h = _retain(torch.sigmoid(o) * torch.tanh(c))
            hs.append(h)
            cs.append(c)
        F.mse_loss(model.head(torch.stack(hs, 1)), y).backward()
        return {"cell": _g(hs), "cell/c": _g(cs)}
