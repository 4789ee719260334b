"""expRNN (Lezcano-Casado & Martinez-Rubio 2019, "Cheap orthogonal constraints in neural
networks: a simple parametrization of the orthogonal and unitary group"):
h_t = modrelu(V x_t + B h_{t-1}), with B = exp(A), A skew-symmetric, so B is orthogonal.

The recurrent matrix is kept orthogonal by ``torch.nn.utils.parametrizations.orthogonal`` with
``orthogonal_map="matrix_exp"``, the paper's exponential map: B = B_0 exp(A) with B_0 the
initial matrix (torch's trivialization around the initial point; the paper's optional
"dynamic" variant, which moves B_0 during training, is not done here). The optimizer updates
the unconstrained skew-symmetric A, so B stays orthogonal after any number of steps.

Initialization as in the paper's code ("henaff"): A block-diagonal with 2x2 blocks
[[0, s], [-s, 0]], s ~ U(-pi, pi), so B is a block rotation by angles s; V has torch's
nn.Linear default. modReLU (Arjovsky et al. 2016): modrelu(z) = sign(z) * relu(|z| + b), one
learned b per unit, b ~ U(-0.01, 0.01); ``activation="tanh"`` is the alternative the paper
also reports.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

from gradtrace.models.declare import recurrent_cell


def henaff_rotation(size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """exp(A) for the paper's "henaff" A: a block rotation by angles ~ U(-pi, pi) (size, size)."""
    angles = (torch.rand(size // 2, generator=generator) * 2 - 1) * math.pi
    skew = torch.zeros(size, size)
    index = torch.arange(0, 2 * (size // 2), 2)
    skew[index, index + 1] = angles
    skew[index + 1, index] = -angles
    return torch.linalg.matrix_exp(skew)


def modrelu(z: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """sign(z) * relu(|z| + bias), elementwise (for real z)."""
    return torch.sign(z) * F.relu(z.abs() + bias)


@recurrent_cell(recurrent=("recurrent.parametrizations.weight.original",), inputs=("input.weight",))
class ExpRNNCell(nn.Module):
    """One expRNN step: (x_t (B, I), h (B, H) or None) -> modrelu(V x_t + B h) (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, *, activation: str = "modrelu") -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.activation = input_size, hidden_size, activation
        self.input = nn.Linear(input_size, hidden_size, bias=False)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)
        orthogonal(self.recurrent, "weight", orthogonal_map="matrix_exp")
        with torch.no_grad():
            self.recurrent.weight = henaff_rotation(hidden_size)
        self.bias = nn.Parameter(torch.empty(hidden_size).uniform_(-0.01, 0.01))

    def forward(self, x_t, state=None, *, input_proj=None):
        """(B, I), h (B, H) or None -> h_t (B, H); ``input_proj`` = V x_t precomputed."""
        z = self.input(x_t) if input_proj is None else input_proj
        if state is not None:
            z = z + self.recurrent(state)
        if self.activation == "tanh":
            return torch.tanh(z + self.bias)
        return modrelu(z, self.bias)


class ExpRNNLayer(nn.Module):
    """An expRNN over a sequence: V x_t for all t in one matmul, then the cell per step."""

    def __init__(self, input_size: int, hidden_size: int, *, activation: str = "modrelu") -> None:
        super().__init__()
        self.cell = ExpRNNCell(input_size, hidden_size, activation=activation)

    def forward(self, x: torch.Tensor, state=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, I), h0 (B, H) or None -> outputs (B, T, H) and h_T."""
        projected = self.cell.input(x)  # (B, T, H)
        outputs = []
        with torch.nn.utils.parametrize.cached():  # B = exp(A) once per sequence, not per step
            for x_t, z_t in zip(x.unbind(1), projected.unbind(1), strict=True):
                state = self.cell(x_t, state, input_proj=z_t)
                outputs.append(state)
        return torch.stack(outputs, dim=1), state
