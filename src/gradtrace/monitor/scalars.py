"""The scalars every tracker sink logs: norms, loss and learning rate per step; horizon,
gamma_hat and the verdict per profile. One place, so TensorBoard, W&B, MLflow and Lightning agree.

Verdicts become numbers through ``VERDICT_CODES`` (healthy 0, vanishing 1, exploding 2,
non-finite 3). A horizon "beyond T" (the gradient never fell below eps) is logged as the
layer's sequence length T, beside ``seq_len`` and ``reaches_T`` = 1, so it is never mistaken
for a measured horizon. Non-finite values are left out (trackers plot them badly or refuse them).
"""

from __future__ import annotations

import math
from typing import Any

from gradtrace.monitor.records import ProfileRecord, StepRecord

VERDICT_CODES = {"healthy": 0.0, "vanishing": 1.0, "exploding": 2.0, "non-finite": 3.0}


def _finite(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and math.isfinite(value):
            out[key] = float(value)
    return out


def step_scalars(rec: StepRecord) -> dict[str, float]:
    """grad_norm/global, grad_norm/global_clipped, grad_norm/layer/<name>, clip/clipped,
    nonfinite/count, subnormal/fraction, and loss and lr (lr/group<i> past the first group)."""
    metrics: dict[str, Any] = {
        "grad_norm/global": rec.global_norm,
        "grad_norm/global_clipped": rec.global_norm_clipped,
        "clip/clipped": float(rec.clipped),
        "nonfinite/count": float(len(rec.nonfinite)),
        "subnormal/fraction": rec.subnormal_fraction,
    }
    metrics.update({f"grad_norm/layer/{name}": value for name, value in rec.layers.items()})
    if rec.loss is not None:
        metrics["loss"] = rec.loss
    for i, lr in enumerate(rec.lr):
        metrics["lr" if i == 0 else f"lr/group{i}"] = lr
    return _finite(metrics)


def profile_scalars(rec: ProfileRecord) -> dict[str, float]:
    """profile/verdict and, per recurrent layer, profile/<name>/{horizon, gamma_hat, verdict,
    seq_len, reaches_T}."""
    metrics: dict[str, Any] = {"profile/verdict": VERDICT_CODES.get(rec.verdict, math.nan)}
    for row in rec.layers:
        name = row.get("name", "layer")
        seq_len, horizon = row.get("seq_len"), row.get("horizon")
        metrics[f"profile/{name}/gamma_hat"] = row.get("decay_factor")
        metrics[f"profile/{name}/verdict"] = VERDICT_CODES.get(str(row.get("verdict")), math.nan)
        metrics[f"profile/{name}/seq_len"] = seq_len
        metrics[f"profile/{name}/reaches_T"] = float(horizon is None)
        metrics[f"profile/{name}/horizon"] = seq_len if horizon is None else horizon
    return _finite(metrics)
