"""The time steps of one recurrent layer direction: rows per step, flat offsets, processing order.

Layer kernels work on time-major *flat* tensors: the rows of step t are
``flat[offsets[t] : offsets[t] + sizes[t]]``. A padded batch has ``sizes = [B] * T``; a
PackedSequence has its ``batch_sizes`` (non-increasing), so step t holds the first ``sizes[t]``
examples in sorted order. A forward direction processes t = 0..T-1; a reverse direction
t = T-1..0 (its first step in processing order is the last time step).
"""

from __future__ import annotations

from itertools import accumulate

import torch

RING_NUMBERS = 1 << 16  # ~256 KiB of float32 ring: amortises the norm call, stays in cache


class StepPlan:
    """Row counts, flat offsets and processing order of one layer direction."""

    def __init__(self, sizes: list[int], *, reverse: bool) -> None:
        self.sizes = sizes
        self.offsets = [0, *accumulate(sizes)][:-1]
        self.total = sum(sizes)
        self.batch = max(sizes)
        self.reverse = reverse
        self.uniform = min(sizes) == self.batch
        steps = len(sizes)
        self.order = list(range(steps - 1, -1, -1)) if reverse else list(range(steps))

    @property
    def steps(self) -> int:
        """Number of time steps T."""
        return len(self.sizes)

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Per-step views of a flat (N, ...) tensor, indexed by time step."""
        if self.uniform:  # unbind of a view: one C++ call (Tensor.split goes through Python)
            return list(flat.view(self.steps, self.batch, *flat.shape[1:]).unbind(0))
        return list(flat.split(self.sizes))

    def previous_rows(self, device: torch.device) -> torch.Tensor:
        """(N,) index into ``cat([out, h0])`` of the state each flat row started from.

        Row j of step t read the output row of the step processed before it (t - 1 forward,
        t + 1 reverse) or, for an example that starts at t, row ``N + j`` (its h0).
        """
        sizes = torch.tensor(self.sizes)
        offsets = torch.tensor(self.offsets)
        step = torch.repeat_interleave(torch.arange(self.steps), sizes)
        row = torch.arange(self.total) - offsets[step]  # example index j within its step
        before = step + 1 if self.reverse else step - 1
        inside = (before >= 0) & (before < self.steps)
        before = before.clamp(0, self.steps - 1)
        carried = inside & (row < sizes[before])
        return torch.where(carried, offsets[before] + row, self.total + row).to(device)

    def weight_grad_(self, grad_w: torch.Tensor, d_pre: torch.Tensor, out, h0) -> None:
        """grad_w += sum_t d_pre_t^T h_prev_t in one or two matmuls.

        d_pre (N, G) gradients of the recurrent pre-activations; out (N, P) the layer outputs;
        h0 (B, P) the initial state; grad_w (G, P).
        """
        if not self.uniform:
            h_prev = torch.cat([out, h0]).index_select(0, self.previous_rows(out.device))
            grad_w.addmm_(d_pre.t(), h_prev)
            return
        batch, total = self.batch, self.total
        if self.reverse:  # step t started from h_{t+1}; the last step from h0
            grad_w.addmm_(d_pre[: total - batch].t(), out[batch:])
            grad_w.addmm_(d_pre[total - batch :].t(), h0)
        else:
            grad_w.addmm_(d_pre[batch:].t(), out[: total - batch])
            grad_w.addmm_(d_pre[:batch].t(), h0)


class NormRing:
    """Per-example L2 norms of per-step gradients, computed K steps at a time.

    Backward writes dL/dh_t of step t into ``slot(t)`` (a small ring buffer, so no gradient
    tensor of the whole sequence is kept); when the K steps of a chunk are all written, one
    ``vector_norm`` writes their norms into the flat (N,) ``norms`` buffer.
    """

    def __init__(self, plan: StepPlan, width: int, like: torch.Tensor, norms) -> None:
        self.plan = plan
        self.norms = norms  # (N,) or None: then slots are scratch only
        self.k = max(1, min(64, plan.steps, RING_NUMBERS // max(1, plan.batch * width)))
        self.ring = like.new_empty(self.k * plan.batch, width)
        k, offsets, sizes = self.k, plan.offsets, plan.sizes
        steps = plan.steps
        self.slots: list[torch.Tensor] = []
        self.flush: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        if plan.uniform:
            views = self.ring.view(k, plan.batch, width).unbind(0)
            self.slots = [views[t % k] for t in range(steps)]
        for start in range(0, steps, k):
            stop = min(start + k, steps)
            base = offsets[start]
            rows = offsets[stop - 1] + sizes[stop - 1] - base
            if not plan.uniform:
                self.slots.extend(
                    self.ring[offsets[t] - base : offsets[t] - base + sizes[t]]
                    for t in range(start, stop)
                )
            # backward visits a chunk's steps in reverse processing order; flush at its last
            last = stop - 1 if plan.reverse else start
            if norms is not None:
                self.flush[last] = (self.ring[:rows], norms[base : base + rows])

    def slots3(self) -> list[torch.Tensor]:
        """``slots`` as (n, 1, width) views, indexed by time step (for broadcasting)."""
        if not self.plan.uniform:
            return [slot.unsqueeze(1) for slot in self.slots]
        views = self.ring.view(self.k, self.plan.batch, 1, -1).unbind(0)
        return [views[t % self.k] for t in range(self.plan.steps)]

    def done(self, t: int) -> None:
        """Step t is written; compute the chunk's norms if it was the chunk's last step."""
        pending = self.flush.get(t)
        if pending is not None:
            torch.linalg.vector_norm(pending[0], dim=1, out=pending[1])
