"""Spectra of recurrent weight matrices: spectral radius, largest singular value, eigenvalues."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace.models.introspect import RecurrentMatrix, recurrent_matrices

# sup |phi'(a)| of each activation: the gamma_phi of Pascanu et al. (2013). A largest singular
# value below 1/gamma_phi makes gradients vanish for sure; above it is needed to explode.
DERIVATIVE_BOUND: dict[str, float] = {
    "tanh": 1.0,
    "sigmoid": 0.25,
    "relu": 1.0,
    "leaky_relu": 1.0,
    "prelu": 1.0,
}


@dataclass
class MatrixSpectrum:
    """The spectrum of one recurrent matrix (a whole W_hh for rnn, one gate block for LSTM/GRU)."""

    name: str  # layer name from recurrent_matrices ("lstm.l0", "cell", ...)
    kind: str  # "rnn" | "lstm" | "gru"
    layer: int
    direction: str  # "forward" | "reverse"
    gate: str  # "h" for a plain RNN, else the gate block (LSTM i,f,g,o; GRU r,z,n)
    activation: str | None  # rnn only
    spectral_radius: float
    max_singular: float
    eigenvalues: list[list[float]] = field(default_factory=list)  # [[re, im], ...]

    @property
    def derivative_bound(self) -> float | None:
        """gamma_phi = sup |phi'| of the activation (rnn only; None when unknown)."""
        return DERIVATIVE_BOUND.get(self.activation or "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatrixSpectrum:
        """Inverse of `to_dict`."""
        return cls(**data)


def effective_blocks(matrix: RecurrentMatrix) -> dict[str, torch.Tensor]:
    """Square (H_or_P, H_or_P) recurrent maps per gate, float64, projection folded in.

    With an LSTM projection h = W_hr (o * tanh c), a gate block maps P -> H, and the square map
    seen by the hidden state is W_hr @ block (P, P).
    """
    weight = matrix.weight_hh.detach().to(torch.float64)  # (G*H, H_or_P)
    blocks = {}
    for gate in matrix.gates:
        block = matrix.block(weight, gate)  # (H, H_or_P)
        if matrix.weight_hr is not None:
            block = matrix.weight_hr.detach().to(torch.float64) @ block  # (P, P)
        blocks[gate] = block
    return blocks


def matrix_spectrum(weight: torch.Tensor | np.ndarray) -> tuple[float, float, np.ndarray]:
    """(spectral radius, largest singular value, complex eigenvalues) of a square matrix."""
    w = torch.as_tensor(weight).detach().to("cpu", torch.float64)
    if w.dim() != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"matrix_spectrum needs a square matrix, got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        return math.nan, math.nan, np.zeros(0, dtype=np.complex128)
    eigenvalues = torch.linalg.eigvals(w).numpy()
    radius = float(np.abs(eigenvalues).max()) if eigenvalues.size else 0.0
    singular = float(torch.linalg.matrix_norm(w, ord=2)) if w.numel() else 0.0
    return radius, singular, eigenvalues


def spectra(model: nn.Module, *, eigenvalues: bool = True, cells=None) -> list[MatrixSpectrum]:
    """Spectrum of every recurrent matrix of ``model``, per gate block for LSTM and GRU."""
    return matrix_spectra(recurrent_matrices(model, cells), eigenvalues=eigenvalues)


def matrix_spectra(
    matrices: list[RecurrentMatrix], *, eigenvalues: bool = True
) -> list[MatrixSpectrum]:
    """Spectrum of each of ``matrices`` (from recurrent_matrices), per gate block."""
    found = []
    for matrix in matrices:
        for gate, block in effective_blocks(matrix).items():
            radius, singular, values = matrix_spectrum(block)
            pairs = [[float(v.real), float(v.imag)] for v in values] if eigenvalues else []
            found.append(
                MatrixSpectrum(
                    name=matrix.name,
                    kind=matrix.kind,
                    layer=matrix.layer,
                    direction=matrix.direction,
                    gate=gate,
                    activation=matrix.activation,
                    spectral_radius=_finite_or_nan(radius),
                    max_singular=_finite_or_nan(singular),
                    eigenvalues=pairs,
                )
            )
    return found


def _finite_or_nan(value: float) -> float:
    return value if math.isfinite(value) else math.nan
