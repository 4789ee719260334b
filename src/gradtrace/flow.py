"""The shared vocabulary of gradient flow: relative profile, decay factor, horizon and verdict.

Definitions (docs/ARCHITECTURE.md): time steps t = 1..T, lag k = T - t; g_t is the gradient norm
that reaches step t; the relative profile is r_k = g_{T-k} / g_T; the decay factor gamma_hat is
exp of the least-squares slope of log r_k against k; horizon(eps) is the first lag with r_k < eps.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

DEFAULT_EPS = 1e-3
Verdict = Literal["non-finite", "exploding", "vanishing", "healthy"]
VERDICTS: tuple[Verdict, ...] = ("non-finite", "exploding", "vanishing", "healthy")


def by_lag(g_by_step: np.ndarray) -> np.ndarray:
    """Reorder per-step norms g_1..g_T into per-lag norms (index k = T - t)."""
    return np.asarray(g_by_step, dtype=np.float64)[::-1].copy()


def relative_profile(g_by_step: np.ndarray) -> np.ndarray:
    """r_k = g_{T-k} / g_T for k = 0..T-1 (nan where g_T is zero or not finite)."""
    lagged = by_lag(g_by_step)
    last = lagged[0] if lagged.size else math.nan
    if not np.isfinite(last) or last == 0.0:
        return np.full_like(lagged, math.nan)
    return lagged / last


def decay_factor(norms_by_lag: np.ndarray) -> float:
    """exp of the least-squares slope of log(norm) against lag; nan when undefined.

    Only finite, positive entries take part; fewer than two of them gives nan.
    """
    values = np.asarray(norms_by_lag, dtype=np.float64)
    lags = np.arange(values.size, dtype=np.float64)
    keep = np.isfinite(values) & (values > 0)
    if keep.sum() < 2:
        return math.nan
    slope = np.polyfit(lags[keep], np.log(values[keep]), 1)[0]
    return float(math.exp(slope))


def horizon(relative: np.ndarray, eps: float = DEFAULT_EPS) -> int | None:
    """First lag k with r_k < eps, or None when it never happens ("beyond T")."""
    below = np.flatnonzero(np.asarray(relative) < eps)
    return int(below[0]) if below.size else None


def verdict(relative: np.ndarray, eps: float = DEFAULT_EPS) -> Verdict:
    """non-finite | exploding (some r_k > 1/eps) | vanishing (horizon within T) | healthy."""
    r = np.asarray(relative, dtype=np.float64)
    if r.size == 0 or not np.all(np.isfinite(r)):
        return "non-finite"
    if np.any(r > 1.0 / eps):
        return "exploding"
    if horizon(r, eps) is not None:
        return "vanishing"
    return "healthy"


def remaining_after(gamma: float, steps: int) -> float:
    """Fraction of the signal left after ``steps`` steps at decay factor ``gamma``."""
    return float(gamma**steps)
