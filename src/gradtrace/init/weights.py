"""Weight initializers for every recurrent matrix of a model (in place, under torch.no_grad).

Which tensors each one sets (biases, layer-norm gains and LSTM projections ``weight_hr`` are left
as they are unless said otherwise):

- ``default_``: calls each recurrent module's own ``reset_parameters`` (torch's
  U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias; layer-norm gains reset to 1).
- ``normal_``: W_ih and W_hh ~ N(0, std^2), the naive initialisation (std = 1 by default).
- ``xavier_uniform_`` / ``xavier_normal_``: W_ih and W_hh, per gate block (fan_out = H, fan_in =
  the block's columns), times ``gain``.
- ``he_``: W_ih and W_hh, Kaiming normal with fan_in, per gate block; the gain follows the
  nonlinearity the block feeds: the RNN activation (tanh 5/3, relu sqrt 2, leaky_relu / prelu
  sqrt(2 / (1 + slope^2)), sigmoid 1), sigmoid gates 1, the LSTM g / GRU n candidate 5/3 (tanh).
- ``orthogonal_``: W_hh only, each gate block orthogonal (semi-orthogonal when an LSTM has a
  projection); W_ih keeps its values because orthogonality is about the recurrence.
- ``identity_``: the IRNN of Le et al. (2015), plain RNN layers only: W_hh = scale * I and both
  biases 0; W_ih keeps its values. Gated layers are refused: an identity per gate block has no
  meaning for gates (use orthogonal_ with forget_bias_ or chrono_).
- ``spectral_``: rescales the current W_hh to spectral radius rho: the whole matrix of a plain
  RNN, each gate block of an LSTM / GRU (with a projection, the block times W_hr, the map that
  acts on h). Call another initializer first to choose the shape of the spectrum.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.init._common import blocks, check_positive, matrices_of
from gradtrace.models.introspect import RecurrentMatrix


def default_(model: nn.Module) -> nn.Module:
    """Reset every recurrent module to torch's (and gradtrace cells') default initialisation."""
    seen: set[int] = set()
    for matrix in matrices_of(model):
        if id(matrix.module) not in seen:
            seen.add(id(matrix.module))
            matrix.module.reset_parameters()
    return model


@torch.no_grad()
def normal_(model: nn.Module, std: float = 1.0) -> nn.Module:
    """W_ih and W_hh ~ N(0, std^2) in every recurrent layer."""
    std = check_positive("std", std)
    for matrix in matrices_of(model):
        nn.init.normal_(matrix.weight_ih, 0.0, std)
        nn.init.normal_(matrix.weight_hh, 0.0, std)
    return model


@torch.no_grad()
def xavier_uniform_(model: nn.Module, gain: float = 1.0) -> nn.Module:
    """Glorot uniform on each gate block of W_ih and W_hh."""
    gain = check_positive("gain", gain)
    for matrix in matrices_of(model):
        for block in blocks(matrix, matrix.weight_ih) + blocks(matrix, matrix.weight_hh):
            nn.init.xavier_uniform_(block, gain=gain)
    return model


@torch.no_grad()
def xavier_normal_(model: nn.Module, gain: float = 1.0) -> nn.Module:
    """Glorot normal on each gate block of W_ih and W_hh."""
    gain = check_positive("gain", gain)
    for matrix in matrices_of(model):
        for block in blocks(matrix, matrix.weight_ih) + blocks(matrix, matrix.weight_hh):
            nn.init.xavier_normal_(block, gain=gain)
    return model


def block_gains(matrix: RecurrentMatrix) -> list[float]:
    """The Kaiming gain of each gate block, from the nonlinearity that block feeds."""
    if matrix.kind == "lstm":  # i, f, g, o
        return [1.0, 1.0, nn.init.calculate_gain("tanh"), 1.0]
    if matrix.kind == "gru":  # r, z, n
        return [1.0, 1.0, nn.init.calculate_gain("tanh")]
    activation = matrix.activation or "tanh"
    if activation in ("leaky_relu", "prelu"):
        slope = float(getattr(matrix.module, "leaky_slope", 0.01))
        return [nn.init.calculate_gain("leaky_relu", slope)]
    return [nn.init.calculate_gain(activation)]


@torch.no_grad()
def he_(model: nn.Module, gain: float = 1.0) -> nn.Module:
    """Kaiming normal (fan_in) on each gate block of W_ih and W_hh, gain from its nonlinearity.

    ``gain`` multiplies the nonlinearity's gain (1 = the standard He initialisation).
    """
    gain = check_positive("gain", gain)
    for matrix in matrices_of(model):
        gains = block_gains(matrix)
        for weight in (matrix.weight_ih, matrix.weight_hh):
            for block, block_gain in zip(blocks(matrix, weight), gains, strict=True):
                nn.init.normal_(block, 0.0, gain * block_gain / math.sqrt(block.shape[1]))
    return model


@torch.no_grad()
def orthogonal_(model: nn.Module, gain: float = 1.0) -> nn.Module:
    """Each gate block of W_hh orthogonal (times ``gain``); W_ih unchanged."""
    gain = check_positive("gain", gain)
    for matrix in matrices_of(model):
        for block in blocks(matrix, matrix.weight_hh):
            nn.init.orthogonal_(block, gain=gain)
    return model


@torch.no_grad()
def identity_(model: nn.Module, scale: float = 1.0) -> nn.Module:
    """IRNN (Le et al. 2015): W_hh = scale * I and zero biases in every plain RNN layer."""
    scale = check_positive("scale", scale)
    matrices = matrices_of(model)
    for matrix in matrices:
        if matrix.kind != "rnn":
            raise InvalidValue(
                "init",
                "identity",
                f"identity is for plain RNN layers; {matrix.name} is "
                f"{matrix.kind} (use orthogonal with forget_bias, or chrono)",
            )
    for matrix in matrices:
        nn.init.eye_(matrix.weight_hh)
        matrix.weight_hh.mul_(scale)
        for bias in (matrix.bias_ih, matrix.bias_hh):
            if bias is not None:
                nn.init.zeros_(bias)
    return model


def spectral_radius(square: torch.Tensor) -> float:
    """Largest |eigenvalue| of a square matrix, computed in float64 on the CPU."""
    return float(torch.linalg.eigvals(square.detach().double().cpu()).abs().max())


@torch.no_grad()
def spectral_(model: nn.Module, rho: float = 1.0) -> nn.Module:
    """Rescale W_hh (each gate block for LSTM / GRU) to spectral radius ``rho``."""
    rho = check_positive("rho", rho)
    for matrix in matrices_of(model):
        for index, block in enumerate(blocks(matrix, matrix.weight_hh)):
            square = block if matrix.weight_hr is None else block @ matrix.weight_hr
            radius = spectral_radius(square)
            if not (math.isfinite(radius) and radius > 0):
                gate = matrix.gates[index]
                raise InvalidValue(
                    "init",
                    "spectral",
                    f"{matrix.name} gate {gate} has spectral radius "
                    f"{radius}; initialise it with another method first",
                )
            block.mul_(rho / radius)
    return model
