"""Numerical settings that matter for gradient flow: flushing subnormal floats on CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def flush_denormal(enabled: bool = True) -> Iterator[bool]:
    """Flush subnormal floats to zero inside the block, restoring the previous setting after.

    Vanishing gradients underflow into subnormal floats, which make CPU arithmetic 5-10x slower;
    training does not need them, so the trainer runs with flushing on. Measuring code that wants
    tiny gradients exact uses float64 instead. Yields whether flushing is active.
    """
    # torch exposes only a setter that reports support; probe the current state with a subnormal.
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    previous = bool((tiny * 1.0).item() == 0.0)
    supported = torch.set_flush_denormal(enabled)
    try:
        yield supported and enabled
    finally:
        torch.set_flush_denormal(previous)
