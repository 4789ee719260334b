"""Lyapunov exponents and Jacobian-product norms of a layer's state map along its trajectory.

Both run backwards in time, the direction gradients travel:
- the QR method on the transposed Jacobians (Q <- QR(J_t^T Q), t = T..1): the top-k Lyapunov
  exponents are the averages of log |R_ii| per step. Negative: gradients and perturbations
  contract (vanishing); positive: they expand (exploding, or chaotic dynamics). For plain cells
  J_t^T Q is formed without J_t (O(G H P k) per step, see jacobians.Factors).
- the products P_k = J_T J_{T-1} ... J_{T-k+1} (P_k^T maps dL/ds_T to dL/ds_{T-k}), whose
  spectral norms bound how much gradient can reach lag k. Each product step is a dense
  (n, n) matmul, so they are computed up to lag L = PRODUCT_BUDGET / n^3 (L = 128 for n = 128,
  so all lags of an RNN with H = 128 or an LSTM with H = 64 at T <= 128; L = 16 for an LSTM with
  H = 128); beyond L the top exponent says how the norm keeps changing: ||P_k|| ~ exp(lambda_1 k).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from gradtrace.diagnosis.jacobians import dense_chunks, factors
from gradtrace.diagnosis.replay import F64, LayerRun

PRODUCT_BUDGET = 1 << 28  # multiply-adds spent on Jacobian products per example
QR_EVERY = 4  # re-orthonormalise every few steps: the same R products, a quarter of the QRs
LOG_FLOOR = math.log(np.finfo(np.float64).tiny)  # log |R_ii| of a collapsed direction


def lag_grid(seq_len: int) -> list[int]:
    """Lags 1, 2, 5, 10, 20, 50, 100, ... below T, and the last lag T - 1."""
    lags, decade = [], 1
    while decade < seq_len:
        lags.extend(m * decade for m in (1, 2, 5) if m * decade < seq_len)
        decade *= 10
    if seq_len > 1 and (not lags or lags[-1] != seq_len - 1):
        lags.append(seq_len - 1)
    return lags


@dataclass
class LayerDynamics:
    """Lyapunov exponents and product norms of one layer and direction."""

    name: str
    kind: str
    layer: int
    direction: str
    state_size: int  # n: H, or P + H for LSTM
    steps: int  # T
    examples: int  # how many examples were averaged
    exponents: list[float] = field(default_factory=list)  # top k, per step, descending
    lags: list[int] = field(default_factory=list)  # lags k of the product norms
    product_norms: list[float] | None = None  # ||J_T ... J_{T-k+1}||_2 (geometric mean)
    method: str = "analytic"  # "analytic" (closed-form Jacobians) or "autograd"

    @property
    def top_exponent(self) -> float:
        """The largest Lyapunov exponent (nan when none)."""
        return self.exponents[0] if self.exponents else math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerDynamics:
        """Inverse of `to_dict`."""
        return cls(**data)


def layer_dynamics(
    run: LayerRun,
    *,
    k: int | None = None,
    examples: int = 1,
    lags: list[int] | None = None,
    products: bool = True,
) -> LayerDynamics:
    """Top-k Lyapunov exponents (default k = min(H, 8)) and product norms, over ``examples``."""
    n = run.state_size
    k = min(n, k if k is not None else min(run.matrix.hidden_size, 8))
    lags = lag_grid(run.steps) if lags is None else [lag for lag in lags if 1 <= lag <= run.steps]
    reach = min(run.steps, PRODUCT_BUDGET // max(1, n**3)) if products else 0
    lags = [lag for lag in lags if lag <= reach]
    with_products = bool(lags)
    count = max(1, min(examples, run.h_prev.shape[0]))
    if not run.finite:  # nothing to measure on a diverged trajectory
        return LayerDynamics(
            run.name,
            run.kind,
            run.matrix.layer,
            run.matrix.direction,
            n,
            run.steps,
            count,
            exponents=[math.nan] * k,
            method="analytic" if run.exact else "autograd",
        )
    exps, logs = [], []
    for example in range(count):
        e, norms = _one_example(run, example, k, lags if with_products else [])
        exps.append(e)
        logs.append(np.log(np.maximum(norms, np.finfo(np.float64).tiny)))
    norms_mean = np.exp(np.mean(logs, axis=0)) if with_products else None
    return LayerDynamics(
        name=run.name,
        kind=run.kind,
        layer=run.matrix.layer,
        direction=run.matrix.direction,
        state_size=n,
        steps=run.steps,
        examples=count,
        exponents=[float(v) for v in np.mean(exps, axis=0)],
        lags=list(lags) if with_products else [],
        product_norms=[float(v) for v in norms_mean] if norms_mean is not None else None,
        method="analytic" if run.exact else "autograd",
    )


def _one_example(run: LayerRun, example: int, k: int, lags: list[int]):
    n = run.state_size
    generator = torch.Generator().manual_seed(example)
    q, _ = torch.linalg.qr(torch.randn(n, k, generator=generator, dtype=F64))
    q = q.to(run.h_prev.device)
    log_growth = torch.zeros(k, dtype=F64, device=q.device)
    if run.exact:
        fac = factors(run, example=example)
        rows = q.t().contiguous()  # Q^T (k, n): J^T Q is computed as (Q^T J)^T
        buffers = [torch.empty_like(rows), torch.empty_like(rows)]  # written in turn
        for t in reversed(range(run.steps)):
            rows = fac.rows_times(t, rows, out=buffers[t % 2])
            if t % QR_EVERY == 0:  # R of a few steps at once is the product of their R's
                q, r = torch.linalg.qr(rows.t())
                log_growth += torch.log(r.diagonal().abs()).clamp_min(LOG_FLOOR)
                rows = buffers[t % 2].copy_(q.t())
        dense = fac.dense(slice(run.steps - lags[-1], None)).flip(0) if lags else None
    else:
        blocks = []
        for chunk in dense_chunks(run, example=example):  # (c, n, n), t = T..1
            for jac in chunk:
                q, r = torch.linalg.qr(jac.T @ q)
                log_growth += torch.log(r.diagonal().abs()).clamp_min(LOG_FLOOR)
            if lags and sum(b.shape[0] for b in blocks) < lags[-1]:
                blocks.append(chunk)
        dense = torch.cat(blocks)[: lags[-1]] if lags else None
    exponents = (log_growth / max(1, run.steps)).sort(descending=True).values.cpu().numpy()
    if dense is None:
        return exponents, np.zeros(0)
    wanted, kept = set(lags), []
    product = torch.eye(n, dtype=F64, device=q.device)
    for lag, jac in enumerate(dense, start=1):  # jac = J_{T-lag+1}
        product = product @ jac
        if lag in wanted:
            kept.append(product)
    return exponents, spectral_norms(torch.stack(kept)).cpu().numpy()


def spectral_norms(mats: torch.Tensor) -> torch.Tensor:
    """||A||_2 of each (n, n) matrix: sqrt of the top eigenvalue of A^T A, A scaled to max 1.

    The symmetric eigensolver costs about two thirds of an SVD and agrees with it to rounding
    (tested); the scaling keeps A^T A inside float64's range for tiny or huge products.
    """
    scale = mats.abs().amax(dim=(-2, -1), keepdim=True)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    unit = mats / safe
    top = torch.linalg.eigvalsh(unit.mT @ unit)[..., -1].clamp_min(0).sqrt()
    return top * scale[..., 0, 0]
