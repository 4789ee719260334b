"""Gradient profiles of one training step at the start, middle and end of a run.

The "middle" must be chosen before the run knows when it will stop (early stopping, time
budgets), so the trainer keeps a few cheap parameter snapshots taken at geometrically spaced
steps (ratio 2**0.25) and, at the end, traces the latest snapshot at or before half the steps
run: the middle profile of a run of S steps comes from a step in roughly (0.42 S, 0.5 S].
Each profile traces one full forward/backward pass (full BPTT, even under truncated BPTT:
it shows the gradient flow the full-sequence loss has) on a fixed training batch, with the
training RNG forked so profiling never changes the run's numbers. Profiles are measurements:
they run with subnormal flushing OFF (the run itself flushes), so gradients between 1e-45 and
1e-38 are recorded as they are instead of as zeros; three traced passes cost little.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gradtrace.numerics import flush_denormal
from gradtrace.tasks import Task

_RATIO = 2**0.25


class Snapshots:
    """Parameter snapshots at steps 1, 2, 3, ..., then geometrically spaced (ratio 2**0.25)."""

    def __init__(self) -> None:
        self._next = 1
        self._kept: list[tuple[int, dict[str, torch.Tensor]]] = []

    def maybe_take(self, step: int, model: nn.Module) -> None:
        """Snapshot ``model`` if ``step`` is on the schedule; drop snapshots no longer needed."""
        if step < self._next:
            return
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._kept.append((step, state))
        self._next = max(step + 1, round(step * _RATIO))
        # only the newest snapshot at or before step / 2 can still be the middle of a longer run
        early = [i for i, (s, _) in enumerate(self._kept) if s <= step / 2]
        if len(early) > 1:
            del self._kept[: early[-1]]

    def middle(self, steps: int) -> tuple[int, dict[str, torch.Tensor]] | None:
        """The latest snapshot taken at or before ``steps / 2`` (None for runs under 2 steps)."""
        before = [(s, state) for s, state in self._kept if s <= steps / 2]
        return before[-1] if before else None


def profile_step(
    model: nn.Module, task: Task, x: torch.Tensor, y: torch.Tensor, *, step: int
) -> dict[str, Any]:
    """Trace one forward/backward pass; {"step", "profile"} or {"step", "error"} if it fails.

    Gradients the pass leaves on the parameters are cleared; the RNG is forked.
    """
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    try:
        from gradtrace.tracing import trace

        with (
            torch.random.fork_rng(devices=devices),
            flush_denormal(False),
            trace(model) as tracer,
        ):
            loss = task.loss(model(x), y)
            loss.backward()
        return {"step": step, "profile": tracer.profile.to_dict()}
    except Exception as e:  # a profile is an extra: its failure must not sink the run
        return {"step": step, "error": f"{type(e).__name__}: {e}"}
    finally:
        model.zero_grad(set_to_none=True)


def profile_snapshot(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    task: Task,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    step: int,
) -> dict[str, Any]:
    """`profile_step` on a copy of ``model`` holding the snapshot ``state``."""
    twin = copy.deepcopy(model)
    twin.load_state_dict(state)
    return profile_step(twin, task, x, y, step=step)
