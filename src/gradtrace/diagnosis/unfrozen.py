"""Frozen recurrent weights made trainable for the length of one diagnosis, then frozen again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch


@contextmanager
def recurrent_weights_trainable(entries: list[Any]) -> Iterator[list[torch.nn.Parameter]]:
    """Let the gradient flow through recurrent modules whose parameters the caller froze.

    A model loaded for inspection often has ``requires_grad=False`` everywhere; its hidden
    states then carry no gradient and there is nothing to measure. Inside this context the
    frozen parameters of ``entries`` (the recurrent modules and cells found) require grad, and
    gradient recording is on even under the caller's ``torch.no_grad()``; on exit every flag
    is as it was (diagnose restores the ``.grad`` of every parameter it touched). Yields the
    parameters it unfroze. The gradient with respect to a state does not depend on which
    parameters require grad, so the measured numbers are the same either way.
    """
    frozen: dict[int, torch.nn.Parameter] = {}
    for entry in entries:
        for param in entry.module.parameters():
            if not param.requires_grad and param.is_floating_point():
                frozen[id(param)] = param
    for param in frozen.values():
        param.requires_grad_(True)
    try:
        with torch.enable_grad():
            yield list(frozen.values())
    finally:
        for param in frozen.values():
            param.requires_grad_(False)
