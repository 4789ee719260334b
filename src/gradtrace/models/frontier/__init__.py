"""Modern recurrences beyond LSTM and GRU: IndRNN, expRNN, LRU, minGRU, minLSTM, a selective SSM.

One module per cell, each with its paper, equations, parametrization and initialization; every
layer maps (x (B, T, I), state or None) -> (outputs (B, T, H), last state). ``FRONTIER`` is the
registry ``build_model`` reads: adding a cell is one module and one entry here (and its name in
ModelSpec.cell).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from gradtrace.models.frontier.dynamics import diagonal_dynamics, diagonal_spectra
from gradtrace.models.frontier.exprnn import ExpRNNCell, ExpRNNLayer
from gradtrace.models.frontier.indrnn import DEFAULT_HORIZON, IndRNNCell, IndRNNLayer
from gradtrace.models.frontier.lru import LRULayer
from gradtrace.models.frontier.mingru import MinGRULayer
from gradtrace.models.frontier.minlstm import MinLSTMLayer
from gradtrace.models.frontier.selective_ssm import DEFAULT_STATE, SelectiveSSMLayer
from gradtrace.models.spec import ModelSpec

# (spec, input size, layer index) -> the layer
Builder = Callable[[ModelSpec, int, int], nn.Module]


def _indrnn(spec: ModelSpec, size: int, index: int) -> nn.Module:
    horizon = spec.horizon or DEFAULT_HORIZON
    last = index == spec.num_layers - 1
    return IndRNNLayer(size, spec.hidden_size, horizon=horizon, last=last)


def _exprnn(spec: ModelSpec, size: int, index: int) -> nn.Module:
    return ExpRNNLayer(size, spec.hidden_size, activation=spec.activation)


def _lru(spec: ModelSpec, size: int, index: int) -> nn.Module:
    r_min, r_max, max_phase = spec.lru_ring()
    return LRULayer(
        size,
        spec.hidden_size,
        spec.state_size or spec.hidden_size,
        r_min=r_min,
        r_max=r_max,
        max_phase=max_phase,
        name=f"layers.{index}",
        loop=spec.backend == "loop",
    )


def _scan_layer(kind: type[nn.Module]) -> Builder:
    def build(spec: ModelSpec, size: int, index: int) -> nn.Module:
        return kind(size, spec.hidden_size, name=f"layers.{index}", loop=spec.backend == "loop")

    return build


def _selective_ssm(spec: ModelSpec, size: int, index: int) -> nn.Module:
    return SelectiveSSMLayer(
        size,
        spec.hidden_size,
        spec.state_size or DEFAULT_STATE,
        name=f"layers.{index}",
        loop=spec.backend == "loop",
    )


FRONTIER: dict[str, Builder] = {
    "indrnn": _indrnn,
    "exprnn": _exprnn,
    "lru": _lru,
    "mingru": _scan_layer(MinGRULayer),
    "minlstm": _scan_layer(MinLSTMLayer),
    "selective_ssm": _selective_ssm,
}

__all__ = [
    "FRONTIER",
    "ExpRNNCell",
    "ExpRNNLayer",
    "IndRNNCell",
    "IndRNNLayer",
    "LRULayer",
    "MinGRULayer",
    "MinLSTMLayer",
    "SelectiveSSMLayer",
    "diagonal_dynamics",
    "diagonal_spectra",
]
