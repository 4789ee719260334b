"""IndRNN (Li et al. 2018, "Independently recurrent neural network (IndRNN): building a longer
and deeper RNN"): h_t = relu(W x_t + u * h_{t-1} + b), one recurrent weight per unit.

Because each unit recurs only on itself, dh_t/dh_{t-1} = diag(u * relu'(.)), and the gradient
over k steps is a product of k scalars per unit. The paper keeps it from vanishing or exploding
over the horizon T by the constraint |u_n| <= 2^(1/T) (so u_n^T <= 2), and initializes
u ~ U(0, 2^(1/T)) in every layer but the last, u ~ U(2^(-1/T), 2^(1/T)) in the last (long
memory where the readout reads). The constraint is applied in the forward, u_eff = clamp(u,
-u_max, u_max) (a projected parametrization: no step of any optimizer can leave it), and
``constrain_`` projects the stored u as the paper's code does after each step. W and b have
torch's nn.Linear default initialization. Not here: the batch normalization the paper puts
between layers (stack with ``residual``/``dropout`` from the ModelSpec instead).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.models.declare import recurrent_cell

DEFAULT_HORIZON = 1000  # the paper sets the constraint for the task's T


@recurrent_cell(recurrent=("u",), inputs=("input.weight",))
class IndRNNCell(nn.Module):
    """One IndRNN step: (x_t (B, I), h (B, H) or None) -> relu(W x_t + u * h + b) (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, *, horizon: int, last: bool) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.horizon = input_size, hidden_size, horizon
        self.input = nn.Linear(input_size, hidden_size)
        self.u = nn.Parameter(torch.empty(hidden_size))
        self.u_max = 2.0 ** (1.0 / horizon)
        low = 2.0 ** (-1.0 / horizon) if last else 0.0
        nn.init.uniform_(self.u, low, self.u_max)

    def recurrent_weight(self) -> torch.Tensor:
        """The constrained u the step uses: clamp(u, -2^(1/T), 2^(1/T)) (H,)."""
        return self.u.clamp(-self.u_max, self.u_max)

    @torch.no_grad()
    def constrain_(self) -> None:
        """Project the stored u onto |u| <= 2^(1/T), in place (the paper's clipping)."""
        self.u.clamp_(-self.u_max, self.u_max)

    def forward(self, x_t, state=None, *, input_proj=None):
        """(B, I), h (B, H) or None -> h_t (B, H); ``input_proj`` = W x_t + b precomputed."""
        z = self.input(x_t) if input_proj is None else input_proj
        if state is None:
            return F.relu(z)
        return F.relu(torch.addcmul(z, self.recurrent_weight(), state))


class IndRNNLayer(nn.Module):
    """An IndRNN over a sequence: W x_t + b for all t in one matmul, then the cell per step."""

    def __init__(self, input_size: int, hidden_size: int, *, horizon: int, last: bool) -> None:
        super().__init__()
        self.cell = IndRNNCell(input_size, hidden_size, horizon=horizon, last=last)

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, H) or None -> outputs (B, T, H) and h_T."""
        projected = self.cell.input(x)  # (B, T, H)
        outputs = []
        for x_t, z_t in zip(x.unbind(1), projected.unbind(1), strict=True):
            state = self.cell(x_t, state, input_proj=z_t)
            outputs.append(state)
        return torch.stack(outputs, dim=1), state
