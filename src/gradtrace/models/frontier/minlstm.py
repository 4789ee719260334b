"""minLSTM (Feng et al. 2024, "Were RNNs all we needed?"): an LSTM whose gates depend on the
input only, with the forget and input gates normalized to sum to 1 (time-independent scale).

    f_t  = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  h~_t = g(W_h x_t + b_h)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h_t  = f'_t * h_{t-1} + i'_t * h~_t

with g as in minGRU (h~ > 0). As for minGRU the chunked scan runs in linear space on
a_t = f'_t, b_t = i'_t h~_t (f' = sigmoid(k_f) / (sigmoid(k_f) + sigmoid(k_i)));
``log_space=True`` runs the paper's log-space form, log f'_t = log f_t - logaddexp(log f_t,
log i_t) with log sigmoid = -softplus(-.), and ``scan.log_scan``; ``backend="loop"`` the step
loop. b is marked with ``gradtrace.mark_sequence`` so a trace records dL/dh_t exactly. W, b:
torch's nn.Linear default initialization. h_0 = 0 unless a state is passed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradtrace.models.frontier.mingru import _MinLayer, g, log_g


class MinLSTMLayer(_MinLayer):
    """A minLSTM layer over a sequence; see the module docstring."""

    blocks = 3  # linear: [W_f; W_i; W_h]
    default_name = "minlstm"

    def coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) (B, T, H) each: a = f', b = i' * h~."""
        k_f, k_i, pre = self.linear(x).chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        total = f + i
        return f / total, i / total * g(pre)

    def log_coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log a, log b) (B, T, H) each, by the paper's log-space gates."""
        k_f, k_i, pre = self.linear(x).chunk(3, dim=-1)
        log_f, log_i = -F.softplus(-k_f), -F.softplus(-k_i)
        total = torch.logaddexp(log_f, log_i)
        return log_f - total, log_i - total + log_g(pre)
