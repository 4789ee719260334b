"""Gradient clipping that also reports the global gradient norm before and after, without syncs."""

from __future__ import annotations

import math

import torch
from torch.nn.utils import clip_grad_norm_, clip_grad_value_, get_total_norm


def clip_gradients_(
    params: list[torch.nn.Parameter], *, clip: str, clip_value: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clip the gradients of ``params`` in place ("none" | "norm" | "value").

    Returns 0-d tensors (global L2 norm before, global L2 norm after, whether clipping changed
    anything); they stay on the device so that the caller decides when to synchronise.
    "norm" is torch.nn.utils.clip_grad_norm_(params, clip_value) and "value" is
    clip_grad_value_(params, clip_value), so the clipped gradients are exactly torch's.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        device = params[0].device if params else None
        zero = torch.zeros((), device=device)
        return zero, zero, torch.zeros((), dtype=torch.bool, device=device)
    if clip == "norm":
        pre = clip_grad_norm_(params, clip_value)
        return pre, get_total_norm(grads), pre > clip_value
    if clip == "value":
        pre = get_total_norm(grads)
        clipped = get_total_norm(grads, norm_type=math.inf) > clip_value
        clip_grad_value_(params, clip_value)
        return pre, get_total_norm(grads), clipped
    pre = get_total_norm(grads)
    return pre, pre, torch.zeros((), dtype=torch.bool, device=pre.device)
