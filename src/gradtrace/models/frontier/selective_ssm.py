"""A selective state-space layer in the style of Mamba (Gu & Dao 2023, "Mamba: linear-time
sequence modeling with selective state spaces"), small and in pure PyTorch.

For every channel d of the width H and state index n < N, with input-dependent step Delta:

    [x, z]      = W_in u_t                                     (H each)
    x           = silu(x)
    Delta_t     = softplus(W_dt (W_x x_t)[:R] + b_dt)           (H,)   low rank R = ceil(H/16)
    B_t, C_t    = (W_x x_t)[R:R+N], (W_x x_t)[R+N:]             (N,)   input-dependent
    A           = -exp(A_log)                                   (H, N) fixed-sign, diagonal
    h_t[d, n]   = exp(Delta_t[d] A[d, n]) h_{t-1}[d, n] + Delta_t[d] B_t[n] x_t[d]
    y_t[d]      = sum_n C_t[n] h_t[d, n] + D[d] x_t[d]
    out_t       = W_out (y_t * silu(z_t))

(zero-order hold for A, the simplified Euler step for B, both as in Mamba). Initialization as
Mamba's: A_log = log(1..N) per channel (S4D-real), D = 1, Delta's bias set so softplus(b_dt) is
log-uniform in [1e-3, 1e-1]; the linear maps have torch's default. Not here: Mamba's causal
depthwise convolution before the silu and its fused hardware-aware kernel. The recurrence runs
as a chunked scan over the (H, N) states (``backend="loop"``: the step loop); its input
Delta B x is marked with ``gradtrace.mark_sequence`` so a trace records dL/dh_t exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.models.frontier.scan import loop_scan, scan
from gradtrace.tracing.marks import mark_sequence

DEFAULT_STATE = 16
DT_MIN, DT_MAX = 1e-3, 1e-1


class SelectiveSSMLayer(nn.Module):
    """One selective SSM layer; see the module docstring. State: (B, H, N)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        state_size: int = DEFAULT_STATE,
        *,
        name: str = "selective_ssm",
        loop: bool = False,
    ) -> None:
        super().__init__()
        self.hidden_size, self.state_size, self.name, self.loop = (
            hidden_size,
            state_size,
            name,
            loop,
        )
        self.rank = math.ceil(hidden_size / 16)
        self.in_proj = nn.Linear(input_size, 2 * hidden_size)
        self.x_proj = nn.Linear(hidden_size, self.rank + 2 * state_size, bias=False)
        self.dt_proj = nn.Linear(self.rank, hidden_size)
        dt = torch.exp(
            torch.rand(hidden_size) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN)
        )
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        steps = torch.arange(1, state_size + 1, dtype=torch.float32)
        self.A_log = nn.Parameter(torch.log(steps).repeat(hidden_size, 1))  # (H, N)
        self.D = nn.Parameter(torch.ones(hidden_size))
        self.out_proj = nn.Linear(hidden_size, hidden_size)

    def discretize(self, u: torch.Tensor):
        """(B, T, I) -> x, z (B, T, H); a = exp(Delta A), b = Delta B x (B, T, H, N); C."""
        x, z = self.in_proj(u).chunk(2, dim=-1)
        x = F.silu(x)
        dt_in, B, C = self.x_proj(x).split([self.rank, self.state_size, self.state_size], -1)
        delta = F.softplus(self.dt_proj(dt_in))  # (B, T, H)
        A = -torch.exp(self.A_log)  # (H, N)
        a = torch.exp(delta.unsqueeze(-1) * A)
        b = (delta * x).unsqueeze(-1) * B.unsqueeze(-2)
        return x, z, a, b, C

    def forward(self, u: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, H, N) or None -> outputs (B, T, H) and h_T (B, H, N)."""
        x, z, a, b, C = self.discretize(u)
        b = mark_sequence(b, self.name)
        h = (loop_scan if self.loop else scan)(a, b, state)  # (B, T, H, N)
        y = torch.einsum("bthn,btn->bth", h, C) + self.D * x
        return self.out_proj(y * F.silu(z)), h[:, -1]
