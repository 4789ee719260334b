"""Scans for h_t = a_t * h_{t-1} + b_t: the step loop, a chunked scan and a log-space scan.

All three compute the same numbers (tests hold them to 1e-6 at T = 1000); the scans take
about sqrt(T)/2 + T^(1/4) + ... Python steps instead of T.

- ``loop_scan``: the definition, one step per t (the reference, and ``backend="loop"``).
- ``scan``: the chunked scan. The sequence is cut into chunks of C ~ sqrt(T)/2 steps; one loop
  of C steps runs the recurrence inside every chunk at once (from a zero state) and keeps the
  running products A_t = a_t ... a_(chunk start); the state across chunk boundaries is the same
  recurrence on the T/C chunk ends (decay A, input the local end state), scanned the same way;
  then h_t = h_t(local) + A_t * (state entering the chunk). A time-invariant a (the LRU's
  lambda) is never expanded over T: its products are its powers. Only
  products of the a_t appear, never quotients (|a_t| <= 1 in every cell here, so nothing
  overflows), and it works for real, signed and complex values alike.
- ``log_scan``: the same chunked scan in log space for positive values, as Feng et al. (2024,
  "Were RNNs all we needed?") train minGRU and minLSTM: log h_t = logaddexp(log a_t + log h_{t-1},
  log b_t), with log-space gates so that no gate underflows to 0.

Shapes: a (B, T, ...) or broadcastable to b (B, T, ...), time on dim 1; h0 (B, ...) or None.
Every step is taken with ``unbind`` (not indexing): the backward of T indexings would each
scatter into a full-size zero tensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

CONSTANT_MIN_STEPS = 16  # a time-invariant a below this takes the general scan
Combine = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (b, a, h) -> h'


def loop_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t, one step at a time; returns h (B, T, ...)."""
    a = a.expand_as(b)
    h = torch.zeros_like(b[:, 0]) if h0 is None else h0
    out = []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1), strict=True):
        h = torch.addcmul(b_t, a_t, h)
        out.append(h)
    return torch.stack(out, dim=1)


def chunk_size(steps: int) -> int:
    """The chunk length the scans use for a sequence of ``steps``: about sqrt(T) / 2."""
    return max(1, round(math.sqrt(steps) / 2))


def scan(
    a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None = None, *, chunk: int | None = None
) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t by the chunked scan; returns h (B, T, ...).

    A time-invariant ``a`` (size 1 on dim 1, the LRU's lambda) is never expanded over T: the
    in-chunk products are its powers, computed once.
    """
    if a.dim() == b.dim() and a.shape[1] == 1 and b.shape[1] >= CONSTANT_MIN_STEPS and not chunk:
        return _chunked_constant(a, b, h0)
    return _chunked(a.expand_as(b), b, h0, chunk, _linear, _times, 1.0, 0.0)


def log_scan(
    log_a: torch.Tensor,
    log_b: torch.Tensor,
    log_h0: torch.Tensor | None = None,
    *,
    chunk: int | None = None,
) -> torch.Tensor:
    """h_t = a_t h_{t-1} + b_t for a, b, h0 > 0 given as logs; returns h (not its log)."""
    log_a = log_a.expand_as(log_b)
    log_h = _chunked(log_a, log_b, log_h0, chunk, _log_linear, torch.add, 0.0, -math.inf)
    return torch.exp(log_h)


def _linear(b: torch.Tensor, a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(b, a, h)


def _times(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x * y


def _log_linear(b: torch.Tensor, a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp(b, a + h)


def _chunked_constant(a, b, h0) -> torch.Tensor:
    """The chunked scan for a time-invariant a (B or 1, 1, ...): powers instead of products,
    and the chunk ends scanned again with a^C (so O(T^(1/2) + T^(1/4) + ...) Python steps)."""
    batch, steps = b.shape[:2]
    size = chunk_size(steps)  # >= 2 for steps >= CONSTANT_MIN_STEPS: the recursion shrinks
    count = -(-steps // size)
    pad = count * size - steps
    if pad:  # b = 0 after the end: the padded states are cut off below
        b = torch.cat([b, b.new_zeros((batch, pad, *b.shape[2:]))], dim=1)
    b_steps = b.reshape(batch, count, size, *b.shape[2:]).unbind(2)  # C x (B, n, ...)
    local = [b_steps[0]]
    for b_t in b_steps[1:]:  # inside every chunk at once, a broadcast over the chunks
        local.append(torch.addcmul(b_t, a, local[-1]))
    powers = [a]
    for _ in range(size - 1):
        powers.append(powers[-1] * a)
    # across chunks: the same recurrence with a^C on the chunk ends, scanned the same way
    ends = local[-1]  # (B, n, ...)
    start = torch.zeros_like(b[:, 0]) if h0 is None else h0
    if count > 1:
        through = scan(powers[-1], ends, h0)  # (B, n, ...): the state leaving each chunk
        carried = torch.cat([start.unsqueeze(1), through[:, :-1]], dim=1).unsqueeze(2)
    else:
        carried = start.unsqueeze(1).unsqueeze(2)
    stacked = torch.stack(powers, dim=2)  # (B or 1, 1, C, ...)
    h = torch.addcmul(torch.stack(local, dim=2), stacked, carried)
    return h.reshape(batch, count * size, *b.shape[2:])[:, :steps]


def _chunked(a, b, h0, chunk, combine: Combine, compose, one: float, zero: float) -> torch.Tensor:
    """The chunked scan in the semiring (combine, compose) with identities one and zero."""
    batch, steps = b.shape[:2]
    size = chunk or chunk_size(steps)
    count = -(-steps // size)
    pad = count * size - steps
    if pad:  # a = one, b = zero leave the state unchanged
        a = torch.cat([a, a.new_full((batch, pad, *a.shape[2:]), one)], dim=1)
        b = torch.cat([b, b.new_full((batch, pad, *b.shape[2:]), zero)], dim=1)
    a_steps = a.reshape(batch, count, size, *a.shape[2:]).unbind(2)  # C x (B, n, ...)
    b_steps = b.reshape(batch, count, size, *b.shape[2:]).unbind(2)
    local, products = [b_steps[0]], [a_steps[0]]
    for a_t, b_t in zip(a_steps[1:], b_steps[1:], strict=True):  # inside every chunk at once
        local.append(combine(b_t, a_t, local[-1]))
        products.append(compose(products[-1], a_t))
    start = torch.full_like(b[:, 0], zero) if h0 is None else h0
    if count >= CONSTANT_MIN_STEPS:  # across chunks: the same scan on the chunk ends
        ends = _chunked(products[-1], local[-1], h0, None, combine, compose, one, zero)
        carried = torch.cat([start.unsqueeze(1), ends[:, :-1]], dim=1).unsqueeze(2)
    else:
        state, entering = start, []
        for h_end, a_end in zip(local[-1].unbind(1), products[-1].unbind(1), strict=True):
            entering.append(state)  # across chunks, one step per chunk
            state = combine(h_end, a_end, state)
        carried = torch.stack(entering, dim=1).unsqueeze(2)  # (B, n, 1, ...)
    h = combine(torch.stack(local, dim=2), torch.stack(products, dim=2), carried)
    return h.reshape(batch, count * size, *b.shape[2:])[:, :steps]
