"""minGRU (Feng et al. 2024, "Were RNNs all we needed?"): a GRU whose gate and candidate depend
on the input only, so the recurrence is linear in h and trains with a parallel scan.

    z_t  = sigmoid(W_z x_t + b_z)
    h~_t = g(W_h x_t + b_h),   g(x) = x + 1/2 for x >= 0, sigmoid(x) for x < 0   (positive)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

g is the paper's log-space version's activation (h~_t > 0). The paper trains with a log-space
scan because its linear-space scan divides by cumulative products of the gates; the chunked
scan here (``scan.scan``) only multiplies, so it runs in linear space on a_t = 1 - z_t and
b_t = z_t h~_t and gives the same numbers, faster. ``log_space=True`` runs the paper's log-space
form instead (log-space gates, log(1 - z) = -softplus(k), log z = -softplus(-k), and
``scan.log_scan``); tests hold the two and the step loop (``backend="loop"``) together. b is
marked with ``gradtrace.mark_sequence`` so a trace records dL/dh_t exactly. W, b: torch's
nn.Linear default initialization (the paper gives no other). h_0 = 0 unless a state is passed
(in log space a state must be > 0; a nonpositive one runs the linear scan).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.models.frontier.scan import log_scan, loop_scan, scan
from gradtrace.tracing.marks import mark_sequence


def g(x: torch.Tensor) -> torch.Tensor:
    """The paper's positive activation: x + 1/2 for x >= 0, sigmoid(x) for x < 0."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), computed without forming g for x < 0 (log sigmoid = -softplus(-x))."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def run_scan(a: torch.Tensor, b: torch.Tensor, state, *, name: str, loop: bool) -> torch.Tensor:
    """h for a, b (B, T, H): b marked for trace, then the chunked scan (or the step loop)."""
    b = mark_sequence(b, name)  # dL/db_t = dL/dh_t
    return (loop_scan if loop else scan)(a, b, state)


def run_log_scan(
    log_a: torch.Tensor, log_b: torch.Tensor, state, *, name: str, loop: bool
) -> torch.Tensor:
    """h for log a, log b (B, T, H): b marked for trace, then the log-space scan (or the loop)."""
    b = mark_sequence(torch.exp(log_b), name)  # dL/db_t = dL/dh_t
    if loop:
        return loop_scan(torch.exp(log_a), b, state)
    if state is not None and not bool((state > 0).all()):
        return scan(torch.exp(log_a), b, state)
    return log_scan(log_a, torch.log(b), None if state is None else torch.log(state))


class _MinLayer(nn.Module):
    """minGRU and minLSTM's shared layer: one nn.Linear of ``blocks`` stacked (H, I) blocks and
    the scan over the (a, b) a subclass's ``coefficients`` (or ``log_coefficients``) give."""

    blocks: int  # the number of (H, I) blocks in ``linear``
    default_name: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        name: str | None = None,
        loop: bool = False,
        log_space: bool = False,
    ) -> None:
        super().__init__()
        name = self.default_name if name is None else name
        self.hidden_size, self.name, self.loop, self.log_space = hidden_size, name, loop, log_space
        self.linear = nn.Linear(input_size, self.blocks * hidden_size)

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) (B, T, H) each, for the linear-space scan."""
        raise NotImplementedError

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log a, log b) (B, T, H) each, for the log-space scan."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, H) or None -> outputs (B, T, H) and h_T."""
        options = {"name": self.name, "loop": self.loop}
        if self.log_space:
            h = run_log_scan(*self.log_coefficients(x), state, **options)
        else:
            h = run_scan(*self.coefficients(x), state, **options)
        return h, h[:, -1]


class MinGRULayer(_MinLayer):
    """A minGRU layer over a sequence; see the module docstring."""

    blocks = 2  # linear: [W_z; W_h]
    default_name = "mingru"

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) (B, T, H) each: a = 1 - z, b = z * h~."""
        k, pre = self.linear(x).chunk(2, dim=-1)
        return torch.sigmoid(-k), torch.sigmoid(k) * g(pre)

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log a, log b) (B, T, H) each, by the paper's log-space gates."""
        k, pre = self.linear(x).chunk(2, dim=-1)
        return -F.softplus(k), -F.softplus(-k) + log_g(pre)
