"""Power-of-two rescaling of a vanishing backward, so that its gradients never turn subnormal.

A gradient that vanishes through time falls below the smallest normal float (float32: 1.2e-38,
after a few hundred steps of an LSTM), and on this x86 CPU an operation on subnormal numbers
costs up to 100-200 times a normal one (a matmul: 130x; bench_probe.py: a float32 probe of an
LSTM with H=256 at T=1000 took 3-10x as long as with rescaling, 2 layers 5.5x).
Each backward step is linear in the gradient it carries, and multiplying by a power of two is
exact in binary floating point, so a backward that carries 2^s times the true gradient computes
the true gradient's bits times 2^s. ``Scale`` checks the carried gradient every few steps and
multiplies it by 2^k (exactly) when its largest entry falls below 2^-LOW_BITS; each step's
exponent is kept, the recorded norms are divided by it in float64 (so norms below float32's
range are kept at full precision, not flushed), and the weight gradients are summed run by run
of equal exponent, each run's matmul result scaled by 2^-s (only sums below the smallest normal
of the dtype end up subnormal, as without rescaling). A direct gradient dL/dh_t entering a
scaled backward is scaled alike (beta); where that would overflow, the carried gradient is
scaled back first (alpha). Between the layers of one torch module (nothing in between) the input
gradient crosses scaled too (``Link``); a layer fed by another module gets its gradient in the
dtype's own range, as autograd hands it over. Nothing changes until the gradient falls below
2^-LOW_BITS (float32: 2^-40 = 9e-13; float64: 2^-480, where squaring for a norm would
underflow), so results above that are bit for bit the same. Packed sequences (steps of different
sizes) are not rescaled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from gradtrace.tracing.plan import StepPlan

LOW_BITS = {torch.float32: 40, torch.float64: 480}  # rescale below 2^-bits (squares stay normal)
DIRECT_BITS = 40  # a scaled direct gradient stays below 2^DIRECT_BITS
STEP_BITS = 100  # largest single rescaling (2^100 is a float32)
CHECK_EVERY = 4  # steps between checks: the decay of 4 steps must stay above 2^-86 (float32)


class Scale:
    """The exponent s of a backward that carries 2^s times the true gradient, step by step."""

    def __init__(
        self, plan: StepPlan, d_out: torch.Tensor, direct: list[int] | None = None
    ) -> None:
        bits = LOW_BITS.get(d_out.dtype)
        self.enabled = bits is not None and plan.uniform
        self.bits = bits or 0
        self.low = 2.0**-self.bits
        self.max_shift = min(self.bits + 60, STEP_BITS)
        self.plan = plan
        self.s = 0
        self.exps = [0] * plan.steps
        self._d_out = d_out
        self._direct_exps = direct  # per step: d_out is 2^e times dL/dh_t (see Link)
        self._direct: list[float] | None = None
        self._seen = 0

    @property
    def used(self) -> bool:
        """Whether any step was rescaled."""
        return self.enabled and any(self.exps)

    def direct(self, t: int, *carried: torch.Tensor) -> tuple[float, float]:
        """(beta, alpha) for step t: the scaled gradient is beta d_out_t + alpha (carried part).

        d_out_t is 2^e times dL/dh_t (e = 0 unless a Link says otherwise) and the carried part
        2^s times its true value. Where s != e and d_out_t is not zero, s moves (to e where the
        result stays inside [2^-LOW_BITS, 2^DIRECT_BITS], else to put its largest entry near
        2^(DIRECT_BITS - 20)); beta = 2^(s_new - e) and alpha = 2^(s_new - s), both exact.
        """
        e = 0 if self._direct_exps is None else self._direct_exps[t]
        if self.s == e or not self.enabled:
            return 1.0, 1.0
        top = self._direct_max(t)
        if top == 0.0 or not math.isfinite(top):
            return 1.0, 1.0
        big = max((float(c.abs().max()) for c in carried), default=0.0)
        if not math.isfinite(big):
            return 1.0, 1.0
        size = math.frexp(top)[1] - e  # log2 of the largest true entry, rounded up
        if big > 0.0:
            size = max(size, math.frexp(big)[1] - self.s)
        lo, hi = -self.bits, DIRECT_BITS
        new = next((c for c in (e, self.s) if lo <= c + size <= hi), hi - 20 - size)
        new = min(new, e + STEP_BITS, self.s + STEP_BITS)  # beta and alpha stay finite
        beta, alpha = 2.0 ** (new - e), 2.0 ** (new - self.s)
        self.s = new
        return beta, alpha

    def check(self, t: int, *carried: torch.Tensor) -> None:
        """Record step t's exponent, first scaling ``carried`` up (in place) if it got small."""
        if self.enabled:
            self._seen += 1
            if self._seen % CHECK_EVERY == 0:
                top = max(float(c.abs().max()) for c in carried)
                if 0.0 < top < self.low:
                    shift = min(self.max_shift, -math.frexp(top)[1])
                    for c in carried:
                        c.mul_(2.0**shift)
                    self.s += shift
        self.exps[t] = self.s

    def factors(self, like: torch.Tensor) -> torch.Tensor:
        """(T,) float64 2^-s of every time step."""
        return torch.tensor([2.0**-e for e in self.exps], dtype=torch.float64, device=like.device)

    def runs(self) -> Iterator[tuple[int, int, float]]:
        """(first, stop, 2^-s) for each run of time steps with the same exponent."""
        start = 0
        for t in range(1, self.plan.steps + 1):
            if t == self.plan.steps or self.exps[t] != self.exps[start]:
                yield start, t, 2.0 ** -self.exps[start]
                start = t

    def unscale_norms(self, norms) -> None:
        """Divide the recorded norms (StepNorms) by 2^s, in float64, where anything was scaled."""
        if not self.used:
            return
        factor = self.factors(norms.h)[:, None]
        steps, batch = self.plan.steps, self.plan.batch
        norms.h = (norms.h.double().view(steps, batch) * factor).view(-1)
        if norms.c is not None:
            norms.c = (norms.c.double().view(steps, batch) * factor).view(-1)

    def _direct_max(self, t: int) -> float:
        if self._direct is None:  # once per backward, and only where a backward got scaled
            d = self._d_out.view(self.plan.steps, self.plan.batch, -1)  # no |d| copy made:
            self._direct = torch.linalg.vector_norm(d, math.inf, dim=(1, 2)).tolist()
        return self._direct[t]


@dataclass
class Link:
    """A scaled backward's input gradient: the true one, and 2^s_t times it with the exponents.

    The layer below (same module, nothing in between) reads the scaled one when its d_out is
    the true one returned here, so a gradient below float32's range crosses layers exactly.
    """

    grad: torch.Tensor  # (N, I) dL/dx, what autograd gets
    scaled: torch.Tensor  # (N, I) 2^s_t dL/dx_t
    exps: list[int]  # s_t per time step

    def scaled_for(self, d_out: torch.Tensor) -> tuple[torch.Tensor, list[int] | None]:
        """(gradient, exponents) to run a backward on: the scaled one if d_out is ours."""
        same = d_out.data_ptr() == self.grad.data_ptr() and d_out.shape == self.grad.shape
        return (self.scaled, self.exps) if same else (d_out, None)


def scaled_grads(
    scale: Scale,
    d_pre: torch.Tensor,
    x: torch.Tensor,
    w_ih: torch.Tensor,
    out: torch.Tensor,
    h0: torch.Tensor,
    grad_wh: torch.Tensor | None,
    needs: tuple[bool, bool, bool],
    d_hid: torch.Tensor | None = None,
) -> tuple[Link | None, torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """(grad_x as a Link, grad_w_ih, sum of d_pre, sum of d_hid) of a scaled backward.

    d_pre (N, G) holds each step's input-side pre-activation gradients times 2^s of its step,
    d_hid (default: d_pre) the recurrent-side ones; grad_wh += sum_t d_hid_t^T h_{t-1}. Every
    run of equal s is one matmul, its result scaled by 2^-s (a matmul's own alpha would scale
    an operand, subnormal then, and 100 times slower). needs: (grad_x, grad_w_ih, the sums).
    """
    plan, batch = scale.plan, scale.plan.batch
    d_hid = d_pre if d_hid is None else d_hid
    grad_x = None
    if needs[0]:
        scaled = torch.mm(d_pre, w_ih)  # (N, I): row t * B + b is 2^s_t times dL/dx
        factor = scale.factors(scaled).to(scaled.dtype).repeat_interleave(batch)[:, None]
        grad_x = Link(scaled * factor, scaled, list(scale.exps))
    acc_wi = w_ih.new_zeros(w_ih.shape[1], w_ih.shape[0]) if needs[1] else None
    sum_pre = d_pre.new_zeros(d_pre.shape[1]) if needs[2] else None
    sum_hid = d_hid.new_zeros(d_hid.shape[1]) if needs[2] else None
    before, start = (1, plan.steps - 1) if plan.reverse else (-1, 0)  # h_{t-1}: out or h0
    for first, stop, alpha in scale.runs():
        rows = slice(first * batch, stop * batch)
        if acc_wi is not None:
            acc_wi.add_(torch.mm(x[rows].t(), d_pre[rows]), alpha=alpha)
        if sum_pre is not None and sum_hid is not None:
            sum_pre.add_(d_pre[rows].sum(dim=0), alpha=alpha)
            sum_hid.add_(d_hid[rows].sum(dim=0), alpha=alpha)
        if grad_wh is None:
            continue
        lo, hi = first, stop
        if start in range(lo, hi):
            grad_wh.add_(torch.mm(d_hid[start * batch : (start + 1) * batch].t(), h0), alpha=alpha)
            lo, hi = (lo + 1, hi) if start == lo else (lo, hi - 1)
        if lo < hi:
            prev = out[(lo + before) * batch : (hi + before) * batch]
            grad_wh.add_(torch.mm(d_hid[lo * batch : hi * batch].t(), prev), alpha=alpha)
    return grad_x, None if acc_wi is None else acc_wi.t(), sum_pre, sum_hid
