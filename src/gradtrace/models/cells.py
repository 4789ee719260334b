"""gradtrace cells: one recurrent step of an RNN, LSTM or GRU, with torch's parameter layout.

Each cell has ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,)
with G gate blocks in torch's order (LSTM i,f,g,o; GRU r,z,n), the same default initialisation
as torch cells (U(-1/sqrt(H), 1/sqrt(H)) drawn in that parameter order), and
``forward(x_t, state)`` exactly like ``nn.RNNCell`` / ``nn.LSTMCell`` / ``nn.GRUCell``.

Beyond torch cells:
- the RNN cell takes activation tanh | sigmoid | relu | leaky_relu | prelu. PReLU learns one slope
  per hidden unit (parameter ``slope``, shape (H,)), initialised to ``leaky_slope``, so it starts
  as the leaky ReLU with that slope.
- ``layer_norm=True`` follows Ba et al. (2016): the input and the recurrent pre-activations are
  normalised separately, each over its whole gate vector (all G*H entries together, as in the
  paper), with a learned gain and no learned shift; the biases b_ih + b_hh play the shift, so the
  effective gate bias (forget bias, chrono init) keeps its meaning. The LSTM also normalises the
  cell state before the output tanh, h_t = o * tanh(LN(c_t)), while c_t itself is carried
  unnormalised, as in the paper.
- ``forward(..., input_proj=...)`` accepts a precomputed input projection
  ``input_projection(x_t)`` so that a layer can compute it for all steps in one matmul while
  still calling the cell once per step (forward hooks see every step).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.errors import check_choice
from gradtrace.models.declare import recurrent_cell

ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "relu", "leaky_relu", "prelu")

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None


class _Cell(nn.Module):
    """Shared parameters and projections of the three cells."""

    num_gates: ClassVar[int]

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, layer_norm: bool = False
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.layer_norm = layer_norm
        rows = self.num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        if layer_norm:
            self.ln_ih = nn.LayerNorm(rows, bias=False)
            self.ln_hh = nn.LayerNorm(rows, bias=False)

    def reset_parameters(self) -> None:
        """torch's cell default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), same order."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            if weight is not None:
                nn.init.uniform_(weight, -stdv, stdv)
        for module in self.children():
            if isinstance(module, nn.LayerNorm):
                module.reset_parameters()

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """(..., I) -> (..., G*H): W_ih x (layer-normalised if on) + b_ih, for any leading dims."""
        projected = F.linear(x, self.weight_ih)
        if self.layer_norm:
            projected = self.ln_ih(projected)
        return projected if self.bias_ih is None else projected + self.bias_ih

    def hidden_projection(self, h: torch.Tensor) -> torch.Tensor:
        """(B, H) -> (B, G*H): W_hh h (layer-normalised if on) + b_hh."""
        if not self.layer_norm:
            return F.linear(h, self.weight_hh, self.bias_hh)  # one addmm
        projected = self.ln_hh(F.linear(h, self.weight_hh))
        return projected if self.bias_hh is None else projected + self.bias_hh

    def _zeros(self, x_t: torch.Tensor) -> torch.Tensor:
        return x_t.new_zeros(x_t.shape[0], self.hidden_size)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            text += ", bias=False"
        return text + (", layer_norm=True" if self.layer_norm else "")


def _batched(forward: Callable) -> Callable:
    """Let a cell take an unbatched x_t (I,) and state like torch cells do."""

    @functools.wraps(forward)
    def wrapper(self, x_t, state=None, *, input_proj=None):
        if x_t.dim() != 1:
            return forward(self, x_t, state, input_proj=input_proj)
        if state is not None:
            state = (
                tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state[None]
            )
        proj = None if input_proj is None else input_proj.unsqueeze(0)
        out = forward(self, x_t.unsqueeze(0), state, input_proj=proj)
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)

    return wrapper


@recurrent_cell(kind="rnn")
class RNNCell(_Cell):
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) with a choice of activation."""

    num_gates: ClassVar[int] = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        activation: str = "tanh",
        leaky_slope: float = 0.01,
        bias: bool = True,
        layer_norm: bool = False,
    ) -> None:
        check_choice("activation", activation, ACTIVATIONS)
        super().__init__(input_size, hidden_size, bias=bias, layer_norm=layer_norm)
        self.activation = activation
        self.leaky_slope = leaky_slope
        if activation == "prelu":
            self.slope = nn.Parameter(torch.empty(hidden_size))  # one learned slope per unit
        self.reset_parameters()

    @property
    def nonlinearity(self) -> str:
        """The activation name (torch's nn.RNNCell calls it ``nonlinearity``)."""
        return self.activation

    def reset_parameters(self) -> None:
        """torch's default for weights and biases; the PReLU slope starts at ``leaky_slope``."""
        super().reset_parameters()
        if self.activation == "prelu":
            nn.init.constant_(self.slope, self.leaky_slope)

    def nonlinearity_fn(self, z: torch.Tensor) -> torch.Tensor:
        """Apply the cell's activation elementwise."""
        if self.activation == "tanh":
            return torch.tanh(z)
        if self.activation == "sigmoid":
            return torch.sigmoid(z)
        if self.activation == "relu":
            return torch.relu(z)
        if self.activation == "leaky_relu":
            return F.leaky_relu(z, self.leaky_slope)
        return F.prelu(z, self.slope)

    @_batched
    def forward(self, x_t, state=None, *, input_proj=None):
        """(B, I), h (B, H) or None -> h_t (B, H)."""
        h = self._zeros(x_t) if state is None else state
        gi = self.input_projection(x_t) if input_proj is None else input_proj
        return self.nonlinearity_fn(gi + self.hidden_projection(h))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", activation={self.activation!r}"


@recurrent_cell(kind="lstm")
class LSTMCell(_Cell):
    """LSTM step, gates i, f, g, o: c_t = f*c + i*g, h_t = o*tanh(c_t) (LN(c_t) with layer norm)."""

    num_gates: ClassVar[int] = 4
    activation = None

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, layer_norm: bool = False
    ) -> None:
        super().__init__(input_size, hidden_size, bias=bias, layer_norm=layer_norm)
        if layer_norm:
            self.ln_c = nn.LayerNorm(hidden_size)
        self.reset_parameters()

    @_batched
    def forward(self, x_t, state=None, *, input_proj=None):
        """(B, I), (h, c) each (B, H) or None -> (h_t, c_t)."""
        if state is None:
            h = c = self._zeros(x_t)
        else:
            h, c = state
        gi = self.input_projection(x_t) if input_proj is None else input_proj
        gates = gi + self.hidden_projection(h)  # (B, 4H)
        # one sigmoid over all gates (the g block's is unused): fewer ops per step is faster
        i, f, _, o = torch.sigmoid(gates).chunk(4, dim=-1)
        g = torch.tanh(gates[..., 2 * self.hidden_size : 3 * self.hidden_size])
        c_t = torch.addcmul(f * c, i, g)
        c_out = self.ln_c(c_t) if self.layer_norm else c_t
        return o * torch.tanh(c_out), c_t


@recurrent_cell(kind="gru")
class GRUCell(_Cell):
    """GRU step, gates r, z, n: n = tanh(x_n + r*(h_n)), h_t = (1-z)*n + z*h (torch's form)."""

    num_gates: ClassVar[int] = 3
    activation = None

    def __init__(
        self, input_size: int, hidden_size: int, *, bias: bool = True, layer_norm: bool = False
    ) -> None:
        super().__init__(input_size, hidden_size, bias=bias, layer_norm=layer_norm)
        self.reset_parameters()

    @_batched
    def forward(self, x_t, state=None, *, input_proj=None):
        """(B, I), h (B, H) or None -> h_t (B, H)."""
        h = self._zeros(x_t) if state is None else state
        gi = self.input_projection(x_t) if input_proj is None else input_proj
        x_r, x_z, x_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = self.hidden_projection(h).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (1.0 - z) * n + z * h


CELLS: dict[str, type[_Cell]] = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


def make_cell(
    kind: str,
    input_size: int,
    hidden_size: int,
    *,
    activation: str = "tanh",
    leaky_slope: float = 0.01,
    bias: bool = True,
    layer_norm: bool = False,
) -> _Cell:
    """A gradtrace cell of ``kind`` ("rnn", "lstm" or "gru"); activation applies to rnn only."""
    if kind == "rnn":
        return RNNCell(
            input_size,
            hidden_size,
            activation=activation,
            leaky_slope=leaky_slope,
            bias=bias,
            layer_norm=layer_norm,
        )
    check_choice("cell", kind, CELLS)
    return CELLS[kind](input_size, hidden_size, bias=bias, layer_norm=layer_norm)
