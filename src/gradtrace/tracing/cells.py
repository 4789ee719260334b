"""Per-step records of cells and marks: a tensor hook on each h_t (and c_t) stores its norms.

A cell (torch nn.RNNCell / LSTMCell / GRUCell, or a declared cell, see ``models.declare``) is
observed by a forward hook: the cell's own forward runs unchanged, and the hook registers a
tensor hook on the state it returned. Autograd calls that hook once with the total gradient of
the tensor (every use of h_t summed), and it stores the per-example L2 norms (B,). Every call is
one step, in call order: a cell run by several loops in one pass (an encoder loop, then a
decoder loop) yields the concatenation of their steps. ``gradtrace.mark`` adds steps the same
way; ``gradtrace.mark_sequence`` adds all the steps of one tensor at once (``SequenceSteps``).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch


def example_norms(grad: torch.Tensor) -> torch.Tensor:
    """Per-example L2 norm of a step's gradient: (B,) over the trailing dims, () unbatched."""
    if grad.dim() <= 1:
        return torch.linalg.vector_norm(grad)
    return torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), dim=1)


class Reached:
    """A flag the step records set when a backward first writes one (shared by a pass)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = False


class CellSteps:
    """Per-step norms of one cell (or mark) in one pass: lists of (B,) tensors, None until hooked.

    Each step carries the segment (call of the traced model) it ran in; steps of a segment that
    no backward reached (say a validation forward without torch.no_grad()) are left out.
    """

    def __init__(self, *, cell_state: bool, flag: Reached | None = None) -> None:
        self.cell_state = cell_state
        self.flag = flag or Reached()
        self.h: list[torch.Tensor | None] = []
        self.c: list[torch.Tensor | None] = []
        self.segments: list[int] = []
        self.reached: set[int] = set()
        self.has_c = False

    @property
    def filled(self) -> bool:
        """Whether a backward has reached any step."""
        return bool(self.reached)

    def add(self, h: torch.Tensor, c: torch.Tensor | None, segment: int) -> None:
        """Record a step whose outputs are h (and c); their gradients arrive in backward."""
        index = len(self.h)
        self.h.append(None)
        self.c.append(None)
        self.segments.append(segment)
        if h.requires_grad:
            h.register_hook(partial(self._store, self.h, index))
        if c is not None and self.cell_state and c.requires_grad:
            self.has_c = True
            c.register_hook(partial(self._store, self.c, index))

    def _store(self, store: list, index: int, grad: torch.Tensor) -> None:
        # a tensor hook runs once per step in backward: keep it to one norm and a set insert
        if grad.dim() > 1:
            store[index] = torch.linalg.vector_norm(grad.reshape(grad.shape[0], -1), dim=1)
        else:
            store[index] = torch.linalg.vector_norm(grad)
        self.reached.add(self.segments[index])
        self.flag.value = True

    def per_step(self, which: str = "h") -> np.ndarray | None:
        """(T,) mean norm per step (0 where no gradient reached the step); None if not recorded."""
        store = self.h if which == "h" else self.c
        kept = [n for n, seg in zip(store, self.segments, strict=True) if seg in self.reached]
        if which == "c" and (not self.has_c or all(norm is None for norm in kept)):
            return None
        if not kept:
            return np.zeros(0)
        shapes = {tuple(n.shape) for n in kept if n is not None}
        if len(shapes) == 1:  # one batch size throughout: one stack, one mean
            like = next(n for n in kept if n is not None)
            zero = torch.zeros_like(like)
            stacked = torch.stack([zero if n is None else n for n in kept])
            return stacked.reshape(len(kept), -1).mean(dim=1).cpu().double().numpy()
        means = [torch.zeros(()) if norm is None else norm.mean().cpu() for norm in kept]
        return torch.stack(means).double().numpy()

    def tensors(self) -> list[torch.Tensor]:
        """The norm tensors held."""
        return [t for t in (*self.h, *self.c) if t is not None]


class SequenceSteps:
    """Per-step norms of tensors marked with ``mark_sequence``: one (T_i,) record per call."""

    def __init__(self, flag: Reached | None = None) -> None:
        self.flag = flag or Reached()
        self.calls: list[torch.Tensor | None] = []
        self.segments: list[int] = []
        self.reached: set[int] = set()

    @property
    def filled(self) -> bool:
        """Whether a backward has reached any call."""
        return bool(self.reached)

    def add(self, b: torch.Tensor, time_dim: int, batch_dim: int, segment: int) -> None:
        """Record all steps of ``b``; their gradients arrive in backward."""
        index = len(self.calls)
        self.calls.append(None)
        self.segments.append(segment)
        b.register_hook(partial(self._store, index, time_dim, batch_dim))

    def _store(self, index: int, time_dim: int, batch_dim: int, grad: torch.Tensor) -> None:
        moved = grad.detach().movedim((time_dim, batch_dim), (0, 1))  # (T, B, ...)
        flat = moved.reshape(moved.shape[0], moved.shape[1], -1)
        self.calls[index] = torch.linalg.vector_norm(flat, dim=2).mean(dim=1)  # (T,)
        self.reached.add(self.segments[index])
        self.flag.value = True

    def per_step(self) -> np.ndarray:
        """(T,) mean norm per step over the calls a backward reached, concatenated in order."""
        kept = [n for n, seg in zip(self.calls, self.segments, strict=True) if seg in self.reached]
        parts = [n.detach().double().cpu().numpy() for n in kept if n is not None]
        return np.concatenate(parts) if parts else np.zeros(0)

    def tensors(self) -> list[torch.Tensor]:
        """The norm tensors held."""
        return [t for t in self.calls if t is not None]
