"""LRU, the Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting recurrent neural networks
for long sequences"): a diagonal complex linear recurrence with a real readout, and an MLP/GLU.

    lambda = exp(-exp(nu) + i exp(theta))                  (N,) complex, |lambda| < 1 always
    h_t    = lambda * h_{t-1} + gamma * (B v_t)            gamma = exp(gamma_log), B (N, H) complex
    y_t    = Re(C h_t) + D * v_t                           C (H, N) complex, D (H,)

Parametrization and initialization as in the paper: |lambda| is sampled uniformly on the ring
r_min <= |lambda| <= r_max (|lambda|^2 ~ U(r_min^2, r_max^2), so
nu = log(-log(|lambda|^2) / 2)) and arg(lambda) ~ U(0, max_phase) (theta = log(phase)); gamma
starts at sqrt(1 - |lambda|^2), the normalization that keeps E|h_t|^2 equal to E|B v_t|^2 for
white-noise input, and is trained (as gamma_log); B_re, B_im ~ N(0, 1/(2H)), C_re, C_im ~
N(0, 1/N), D ~ N(0, 1). The layer around it, as in the paper's architecture: a linear encoder
when the input width is not H, v = LayerNorm(u), the LRU, then GELU and a GLU
(W1 y * sigmoid(W2 y)), and the skip connection u + GLU(...).

The recurrence runs as a chunked scan (``scan.scan``) or, with ``backend="loop"``, a step loop;
its input gamma * (B v_t) is marked with ``gradtrace.mark_sequence`` (as a real view), so a trace
records dL/dh_t exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.models.frontier.scan import loop_scan, scan
from gradtrace.tracing.marks import mark_sequence


def ring_init(
    size: int, r_min: float, r_max: float, max_phase: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(nu_log, theta_log) (N,) for lambda uniform on the ring r_min <= |lambda| <= r_max."""
    u1, u2 = torch.rand(size), torch.rand(size)
    nu_log = torch.log(-0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2))
    theta_log = torch.log(max_phase * u2.clamp_min(1e-12))
    return nu_log, theta_log


class LRULayer(nn.Module):
    """One LRU layer with its encoder, norm, GLU and skip; see the module docstring."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        state_size: int,
        *,
        r_min: float,
        r_max: float,
        max_phase: float,
        name: str = "lru",
        loop: bool = False,
    ) -> None:
        super().__init__()
        self.hidden_size, self.state_size, self.name, self.loop = (
            hidden_size,
            state_size,
            name,
            loop,
        )
        self.r_min, self.r_max, self.max_phase = r_min, r_max, max_phase
        self.encoder = (
            nn.Linear(input_size, hidden_size) if input_size != hidden_size else nn.Identity()
        )
        self.norm = nn.LayerNorm(hidden_size)
        nu_log, theta_log = ring_init(state_size, r_min, r_max, max_phase)
        self.nu_log, self.theta_log = nn.Parameter(nu_log), nn.Parameter(theta_log)
        radius = torch.exp(-torch.exp(nu_log))
        self.gamma_log = nn.Parameter(torch.log(torch.sqrt(1 - radius**2)))
        self.B_re = nn.Parameter(torch.randn(state_size, hidden_size) / math.sqrt(2 * hidden_size))
        self.B_im = nn.Parameter(torch.randn(state_size, hidden_size) / math.sqrt(2 * hidden_size))
        self.C_re = nn.Parameter(torch.randn(hidden_size, state_size) / math.sqrt(state_size))
        self.C_im = nn.Parameter(torch.randn(hidden_size, state_size) / math.sqrt(state_size))
        self.D = nn.Parameter(torch.randn(hidden_size))
        self.glu = nn.Linear(hidden_size, 2 * hidden_size)

    def eigenvalues(self) -> torch.Tensor:
        """lambda = exp(-exp(nu) + i exp(theta)) (N,): the exact spectrum of dh_t/dh_{t-1}."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def recurrence_input(self, v: torch.Tensor) -> torch.Tensor:
        """gamma * (B v_t) for all t: (B, T, H) real -> (B, T, N) complex."""
        # v is real: one real matmul onto interleaved (re, im) rows, viewed as complex
        gamma = torch.exp(self.gamma_log)[:, None, None]
        weight = (torch.stack([self.B_re, self.B_im], dim=1) * gamma).reshape(-1, v.shape[-1])
        out = v @ weight.T  # (B, T, 2N): re_0, im_0, re_1, ...
        return torch.view_as_complex(out.reshape(*out.shape[:-1], -1, 2))

    def readout(self, h: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """y_t = Re(C h_t) + D * v_t: (B, T, N) complex, (B, T, H) -> (B, T, H)."""
        # Re(C h) = C_re h_re - C_im h_im: one real matmul on h's (re, im) pairs
        weight = torch.stack([self.C_re, -self.C_im], dim=-1).reshape(self.C_re.shape[0], -1)
        pairs = torch.view_as_real(h.contiguous()).flatten(-2)  # (B, T, 2N)
        return torch.addcmul(pairs @ weight.T, self.D, v)

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, N) complex or None -> outputs (B, T, H) and h_T (B, N) complex."""
        u = self.encoder(x)  # (B, T, H)
        v = self.norm(u)
        b = self.recurrence_input(v)  # (B, T, N) complex
        b = torch.view_as_complex(mark_sequence(torch.view_as_real(b), self.name))
        lam = self.eigenvalues().expand(b.shape[0], 1, -1)  # (B, 1, N)
        h = (loop_scan if self.loop else scan)(lam, b, state)  # (B, T, N)
        y = self.readout(h, v)
        z = self.glu(F.gelu(y))
        out = u + F.glu(z, dim=-1)  # W1 y * sigmoid(W2 y)
        return out, h[:, -1]
