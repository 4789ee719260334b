"""Mark the states of a recurrence the model computes itself: an inline loop or a scan.

    for t in range(T):                       # an inline recurrence, no module per step
        h = torch.tanh(x[:, t] @ U + h @ W)
        h = gradtrace.mark(h, "rnn")         # returns h itself

    h = scan(a, b)                           # h_t = a_t * h_{t-1} + b_t for all t at once
    b = gradtrace.mark_sequence(b, "mingru") # before the scan: dL/db_t is dL/dh_t, exactly

Outside a trace both return their argument at the cost of one context-variable read. Inside
``gradtrace.trace`` (or a profiled Monitor step) they register a tensor hook, so backward hands
over the total gradient of that tensor. ``mark`` records one step per call, in call order, as
layer ``name``; ``mark_sequence`` records every step along ``time_dim`` at once.

Why ``mark_sequence`` is exact on a scan's input: in h_t = a_t * h_{t-1} + b_t the tensor b_t
enters the graph only through h_t, with dh_t/db_t = I, so dL/db_t = dL/dh_t (the total gradient,
through every later step and every direct use of h_t). Mark ``b`` before it enters the scan.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Protocol

import torch

from gradtrace.errors import InvalidValue


class MarkRecorder(Protocol):
    """What an active trace offers to marks (implemented by ``Tracer``)."""

    def add_mark(self, name: str, h: torch.Tensor) -> None: ...

    def add_sequence(self, name: str, b: torch.Tensor, time_dim: int, batch_dim: int) -> None: ...


ACTIVE: ContextVar[MarkRecorder | None] = ContextVar("gradtrace_active_trace", default=None)


def mark(h: torch.Tensor, name: str) -> torch.Tensor:
    """Record h as one step of the recurrence ``name`` when a trace is active; return h."""
    recorder = ACTIVE.get()
    if recorder is None:
        return h
    if not isinstance(h, torch.Tensor):
        raise InvalidValue("mark", type(h).__name__, "a tensor h_t (batch, ...)")
    _check_name(name)
    if h.requires_grad and torch.is_grad_enabled():
        recorder.add_mark(name, h)
    return h


def mark_sequence(
    b: torch.Tensor, name: str, *, time_dim: int = 1, batch_dim: int = 0
) -> torch.Tensor:
    """Record every step of ``b`` along ``time_dim`` as the recurrence ``name``; return b.

    For a scan h_t = a_t * h_{t-1} + b_t pass the scan's input b (see the module docstring);
    any tensor holding h_t for all t at once works too. Norms are taken over every dimension but
    ``time_dim`` and ``batch_dim``.
    """
    recorder = ACTIVE.get()
    if recorder is None:
        return b
    if not isinstance(b, torch.Tensor):
        raise InvalidValue("mark_sequence", type(b).__name__, "a tensor with a time dimension")
    _check_name(name)
    dims = b.dim()
    for label, dim in (("time_dim", time_dim), ("batch_dim", batch_dim)):
        ok = isinstance(dim, int) and not isinstance(dim, bool) and -dims <= dim < dims
        if not ok:
            raise InvalidValue(label, dim, f"a dimension of the {dims}-d tensor")
    if time_dim % dims == batch_dim % dims:
        raise InvalidValue("batch_dim", batch_dim, f"a dimension other than time_dim={time_dim}")
    if b.requires_grad and torch.is_grad_enabled():
        recorder.add_sequence(name, b, time_dim % dims, batch_dim % dims)
    return b


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidValue("name", repr(name), "a non-empty string naming the recurrence")
