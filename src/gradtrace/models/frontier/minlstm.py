"""minLSTM (Feng et al. 2024, "Were RNNs all we needed?"): an LSTM whose gates depend on the
input only, with the forget and input gates normalized to sum to 1 (time-independent scale).

    f_t  = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  h~_t = g(W_h x_t + b_h)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h_t  = f'_t * h_{t-1} + i'_t * h~_t

as the paper's log-space version: log f'_t = log f_t - logaddexp(log f_t, log i_t) with
log sigmoid = -softplus(-.), g as in minGRU (h~ > 0). The scan is ``scan.log_scan`` on
a_t = f'_t, b_t = i'_t h~_t (``backend="loop"``: the step loop); b is marked with
``gradtrace.mark_sequence`` so a trace records dL/dh_t exactly. W, b: torch's nn.Linear
default initialization. h_0 = 0 unless a state is passed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.models.frontier.mingru import log_g, run_scan


class MinLSTMLayer(nn.Module):
    """A minLSTM layer over a sequence; see the module docstring."""

    def __init__(
        self, input_size: int, hidden_size: int, *, name: str = "minlstm", loop: bool = False
    ) -> None:
        super().__init__()
        self.hidden_size, self.name, self.loop = hidden_size, name, loop
        self.linear = nn.Linear(input_size, 3 * hidden_size)  # [W_f; W_i; W_h]

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log a, log b) (B, T, H) each: a = f', b = i' * h~."""
        k_f, k_i, pre = self.linear(x).chunk(3, dim=-1)
        log_f, log_i = -F.softplus(-k_f), -F.softplus(-k_i)
        total = torch.logaddexp(log_f, log_i)
        return log_f - total, log_i - total + log_g(pre)

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, H) or None -> outputs (B, T, H) and h_T."""
        log_a, log_b = self.coefficients(x)
        h = run_scan(log_a, log_b, state, name=self.name, loop=self.loop)
        return h, h[:, -1]
