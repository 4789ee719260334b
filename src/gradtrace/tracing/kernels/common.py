"""Pieces shared by the layer kernels: norm records, the input projection and state carry-over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gradtrace.tracing.plan import StepPlan

sigmoid_bw = torch.ops.aten.sigmoid_backward.grad_input  # (grad, sigmoid output, *, grad_input)
tanh_bw = torch.ops.aten.tanh_backward.grad_input  # (grad, tanh output, *, grad_input)


@dataclass
class StepNorms:
    """Per-example gradient norms of one layer direction in one forward pass.

    ``h`` (N,) holds ||dL/dh_t|| for every flat row (time-major, see StepPlan); ``c`` the same
    for the LSTM cell state (None when not recorded). ``filled`` turns True once backward has
    written them.
    """

    plan: StepPlan
    h: torch.Tensor
    c: torch.Tensor | None
    filled: bool = False
    below: StepNorms | None = None  # the layer below, fed only by this one (see rescale.Link)
    direct: Any = None  # rescale.Link from the layer above, read once by this layer's backward

    @classmethod
    def empty(cls, plan: StepPlan, like: torch.Tensor, *, cell: bool) -> StepNorms:
        """Zero norms for ``plan`` on ``like``'s device and dtype."""
        zeros = like.new_zeros(plan.total)
        return cls(plan, zeros, like.new_zeros(plan.total) if cell else None)

    def per_step(self, which: str = "h") -> torch.Tensor:
        """(T,) mean over the valid examples of each step."""
        norms = self.h if which == "h" else self.c
        plan = self.plan
        if plan.uniform:
            return norms.view(plan.steps, plan.batch).mean(dim=1)
        sizes = torch.tensor(plan.sizes, device=norms.device)
        step = torch.repeat_interleave(torch.arange(plan.steps, device=norms.device), sizes)
        sums = norms.new_zeros(plan.steps).index_add_(0, step, norms)
        return sums / sizes.to(norms.dtype)


def chunk_steps(plan: StepPlan, width: int, budget: int = 1 << 17) -> int:
    """Steps a forward processes together: ``budget`` numbers of ``width``-wide rows (one step
    for packed sequences, whose steps differ in size)."""
    if not plan.uniform:
        return 1
    return max(1, min(plan.steps, budget // (plan.batch * width)))


def rotate(tensor: torch.Tensor | None, blocks: int, shift: int) -> torch.Tensor | None:
    """Rotate the gate blocks of a (G*H, ...) weight or (G*H,) bias by ``shift`` blocks."""
    if tensor is None:
        return None
    return torch.roll(tensor, shift * (tensor.shape[0] // blocks), 0)


def project_(out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias) -> None:
    """out (N, G) = x (N, I) @ weight^T + bias: every step's input projection in one matmul."""
    if bias is None:
        torch.mm(x, weight.t(), out=out)
    else:
        torch.addmm(bias, x, weight.t(), out=out)


def input_grads(d_pre: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, needs: tuple):
    """Gradients of x and weight for d_pre (N, G) = gradient of x @ weight^T; None where unneeded.

    The weight gradient is computed as (x^T @ d_pre)^T, the orientation MKL runs fast for a
    long N and a small input size.
    """
    grad_x = torch.mm(d_pre, weight) if needs[0] else None
    grad_w = torch.mm(x.t(), d_pre).t() if needs[1] else None
    return grad_x, grad_w


def carry_back_(
    rec: torch.Tensor,
    size: int,
    *,
    out: torch.Tensor,
    final: torch.Tensor,
    initial: torch.Tensor | None,
    direct: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gradient of a state entering backward step t (``size`` rows) when the row count changes.

    ``rec`` (m rows) is the gradient w.r.t. the state that the step processed after t read.
    Packed forward directions shrink (m < size): rows m.. ended at t, so the gradient of the
    final state (``final``) enters there. Packed reverse directions grow (m > size): rows size..
    started after t from the initial state, so their gradient goes to ``initial``. ``direct`` is
    the gradient of step t's output, added when given. Returns ``out`` (size rows).
    """
    m = rec.shape[0]
    if m < size:
        out[:m].copy_(rec)
        out[m:].copy_(final[m:size])
    else:
        out.copy_(rec[:size])
        if initial is not None:
            initial[size:m] = rec[size:]
    if direct is not None:
        out.add_(direct)
    return out
