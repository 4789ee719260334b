"""Gate-bias initializers for LSTM and GRU layers: a fixed forget bias and chrono init.

Both set the EFFECTIVE bias b_ih + b_hh of a gate: the whole value goes into b_ih and the
b_hh block is set to 0. Plain RNN layers have no gates and are skipped; a model with no LSTM or
GRU layer at all is refused.

GRU has no forget gate: its update gate z plays that role, h_t = (1 - z) * n + z * h_{t-1}, so
a POSITIVE z bias keeps the state (z near 1), the same sign convention as an LSTM forget bias.
"""

from __future__ import annotations

import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.init._common import check_finite, check_positive, matrices_of
from gradtrace.models.introspect import RecurrentMatrix

# the gate that decides how much of the previous state is kept
KEEP_GATE = {"lstm": "f", "gru": "z"}


def _gated(model: nn.Module, option: str, value: float) -> list[RecurrentMatrix]:
    gated = [m for m in matrices_of(model) if m.kind in KEEP_GATE]
    if not gated:
        raise InvalidValue(option, value, "needs an LSTM or GRU layer; the model has none")
    for matrix in gated:
        if matrix.bias_ih is None or matrix.bias_hh is None:
            raise InvalidValue(option, value, f"needs biases; {matrix.name} has bias=False")
    return gated


def _set_effective_(matrix: RecurrentMatrix, gate: str, values: torch.Tensor | float) -> None:
    matrix.block(matrix.bias_ih, gate).copy_(torch.as_tensor(values))
    matrix.block(matrix.bias_hh, gate).zero_()


@torch.no_grad()
def forget_bias_(model: nn.Module, b: float = 1.0) -> nn.Module:
    """Effective forget bias (LSTM f, GRU z) = ``b`` in every gated layer."""
    b = check_finite("forget_bias", b)
    for matrix in _gated(model, "forget_bias", b):
        _set_effective_(matrix, KEEP_GATE[matrix.kind], b)
    return model


@torch.no_grad()
def chrono_(model: nn.Module, t_max: float | None = None) -> nn.Module:
    """Chrono init (Tallec & Ollivier 2018) for dependencies up to ``t_max`` steps.

    LSTM: effective forget bias b_f = log(u), u ~ U[1, t_max - 1] per unit, and effective input
    bias b_i = -b_f. GRU: effective update-gate bias b_z = log(u); its input gate is 1 - z, so
    nothing else to set. Requires t_max >= 2 (t_max = 2 gives zero biases).
    """
    if t_max is None:
        raise InvalidValue("t_max", None, "chrono needs t_max >= 2, the longest dependency")
    t_max = check_positive("t_max", t_max)
    if t_max < 2:
        raise InvalidValue("t_max", t_max, "chrono needs t_max >= 2, the longest dependency")
    for matrix in _gated(model, "t_max", t_max):
        bias = matrix.bias_ih
        u = torch.empty(matrix.hidden_size, dtype=bias.dtype, device=bias.device)
        forget = torch.log(nn.init.uniform_(u, 1.0, t_max - 1.0))
        _set_effective_(matrix, KEEP_GATE[matrix.kind], forget)
        if matrix.kind == "lstm":
            _set_effective_(matrix, "i", -forget)
    return model
