"""Recurrent weight matrices with an exact spectral radius: scaled Gaussian or scaled orthogonal."""

from __future__ import annotations

from typing import Literal

import numpy as np

WeightKind = Literal["gaussian", "orthogonal"]
WEIGHT_KINDS: tuple[WeightKind, ...] = ("gaussian", "orthogonal")


def spectral_radius(weight: np.ndarray) -> float:
    """Largest |eigenvalue| of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(weight))))


def recurrent_weight(
    hidden_size: int, rho: float, kind: WeightKind, rng: np.random.Generator
) -> np.ndarray:
    """An (H, H) float64 matrix whose spectral radius is ``rho`` (up to rounding).

    gaussian: entries N(0, 1/H) rescaled by rho / (its spectral radius); sigma_max is then
    about 2 rho for large H (the circular law against the quarter-circle law).
    orthogonal: rho * Q, Q from the QR factorization of a Gaussian matrix with the signs of
    R's diagonal folded in (Haar-distributed); every singular value and |eigenvalue| is rho.
    """
    gaussian = rng.standard_normal((hidden_size, hidden_size))  # (H, H)
    if kind == "orthogonal":
        q, r = np.linalg.qr(gaussian)
        return rho * q * np.sign(np.diag(r))[None, :]
    gaussian /= np.sqrt(hidden_size)
    return gaussian * (rho / spectral_radius(gaussian))
