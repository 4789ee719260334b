"""A minGRU-style recurrence computed by a parallel scan, its input marked."""

from __future__ import annotations

import torch
from torch import nn

import gradtrace

from .indrnn import IndRNNEntry
from .reference import _last_state_reference


def parallel_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t (h_0 = 0) for all t at once, in log space (a in (0, 1))."""
    log_a = torch.cumsum(torch.log(a), dim=1)  # (B, T, H)
    return torch.exp(log_a) * torch.cumsum(b * torch.exp(-log_a), dim=1)


class MinGRU(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.to_z = nn.Linear(2, hidden)
        self.to_h = nn.Linear(2, hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, 2)
        z = torch.sigmoid(self.to_z(x))
        b = gradtrace.mark_sequence(z * self.to_h(x), "mingru")
        h = parallel_scan(1 - z, b)
        return self.head(h[:, -1])


class MinGRUEntry(IndRNNEntry):
    name = "mingru_scan"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(8)
        return MinGRU().double()

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        z = torch.sigmoid(model.to_z(x)).detach()
        h_tilde = model.to_h(x).detach().requires_grad_()

        def step(t, h):  # the same recurrence, one step at a time
            return (1 - z[:, t]) * h + z[:, t] * h_tilde[:, t]

        return _last_state_reference(model, y, "mingru", step)
