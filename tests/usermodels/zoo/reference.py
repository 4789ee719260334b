"""The pieces the references share: sizes, LSTM and GRU steps from the equations, retained g."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

F64 = torch.float64
VOCAB, T, B = 13, 7, 3


def _w(module: nn.Module, suffix: str = "") -> dict:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return {n: getattr(module, n + suffix).detach().clone().requires_grad_() for n in names}


def _lstm_step(w, x, h, c):
    i, f, g, o = (x @ w["weight_ih"].T + w["bias_ih"] + h @ w["weight_hh"].T + w["bias_hh"]).chunk(
        4, -1
    )
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_step(w, x, h):
    gi, gh = x @ w["weight_ih"].T + w["bias_ih"], h @ w["weight_hh"].T + w["bias_hh"]
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return (1 - z) * n + z * h


def _retain(t: torch.Tensor) -> torch.Tensor:
    t.retain_grad()
    return t


def _last_state_reference(model, y, name: str, step) -> dict[str, torch.Tensor]:
    """Unroll h_t = step(t, h_{t-1}) from zeros, every state retained; MSE of the head on h_T."""
    h, hs = torch.zeros(B, 6, dtype=F64), []
    for t in range(T):
        h = _retain(step(t, h))
        hs.append(h)
    F.mse_loss(model.head(h), y).backward()
    return {name: _g(hs)}


def _g(states: list[torch.Tensor]) -> torch.Tensor:
    """(T,) mean over the batch of ||grad of each retained state||."""
    return torch.stack([torch.linalg.vector_norm(s.grad, dim=-1).mean() for s in states])


def _lm_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    data = torch.randint(0, VOCAB, (T + 1, B), generator=g)
    return data[:-1], data[1:]
