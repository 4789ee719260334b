"""Trace one-step cells (torch nn.RNNCell / LSTMCell / GRUCell, gradtrace cells) in a user's loop.

While a trace is active the cell's ``forward`` is a wrapper that calls the cell's own forward
and registers a tensor hook on the returned h_t (and c_t): autograd calls it once with the total
gradient of that tensor (every use of h_t summed), and the hook stores the per-example L2 norms
(B,). Every call of the cell is one step, in call order: a cell run by several loops in one
forward pass (say an encoder loop and a decoder loop) yields the concatenation of their steps.
A new pass starts with the first call after a backward (see ``tracer``); steps from calls of the
traced model that no backward reached are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from gradtrace.errors import UnsupportedModel


class CellSteps:
    """Per-step norms of one cell in one pass: lists of (B,) tensors, None until hooked.

    Each step carries the segment (call of the traced model) it ran in; steps of a segment that
    no backward reached (say a validation forward without torch.no_grad()) are left out.
    """

    def __init__(self, *, cell_state: bool) -> None:
        self.cell_state = cell_state
        self.h: list[torch.Tensor | None] = []
        self.c: list[torch.Tensor | None] = []
        self.segments: list[int] = []
        self.reached: set[int] = set()

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
            c.register_hook(partial(self._store, self.c, index))

    def _store(self, store: list, index: int, grad: torch.Tensor) -> None:
        store[index] = torch.linalg.vector_norm(grad, dim=-1)  # (B,) or () unbatched
        self.reached.add(self.segments[index])

    def per_step(self, which: str = "h") -> np.ndarray | None:
        """(T,) mean norm per step (0 where no gradient reached the step); None if not recorded."""
        store = self.h if which == "h" else self.c
        kept = [n for n, seg in zip(store, self.segments, strict=True) if seg in self.reached]
        if which == "c" and all(norm is None for norm in kept):
            return None
        means = [torch.zeros(()) if norm is None else norm.mean().cpu() for norm in kept]
        return torch.stack(means).double().numpy() if means else np.zeros(0)


class CellForward:
    """Replacement ``forward`` of a cell: the cell's own forward, plus hooks on h_t and c_t."""

    def __init__(
        self, module: nn.Module, kind: str, record: Callable[[Any, Any], None], path: str
    ) -> None:
        self.module = module
        self.kind = kind
        self.record = record  # (h, c | None) -> None: adds a step to the current pass
        self.path = path
        self.original = module.__dict__.get("forward") or type(module).forward.__get__(module)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.original(*args, **kwargs)
        if not torch.is_grad_enabled():
            return result
        if self.kind == "lstm":
            if not (isinstance(result, tuple) and len(result) == 2):
                raise UnsupportedModel(self._bad_output(result, "a tuple (h, c)"))
            h, c = result
        else:
            h, c = result, None
        if not isinstance(h, torch.Tensor):
            raise UnsupportedModel(self._bad_output(result, "a tensor h"))
        self.record(h, c)
        return result

    def _bad_output(self, result: Any, expected: str) -> str:
        name = type(self.module).__name__
        return (
            f"trace: cell {self.path or '(the model)'} ({name}) returned "
            f"{type(result).__name__}; a {self.kind} cell must return {expected}"
        )
