"""Observe a fused nn.RNN / nn.LSTM / nn.GRU call without changing it, then replay it on the side.

In ``trace(model, observe_only=True)`` (what the Monitor uses) torch's own kernel runs every
forward and backward, so training is bit-identical to an untraced run. A call is captured
instead: its inputs (detached), the random generator's state before it (for inter-layer dropout)
and, during the real backward, the gradient arriving at each of its outputs (the output sequence
and the final states). ``replay`` then runs the same call through gradtrace's layer kernels from
those inputs and pulls the captured output gradients back through them with
``torch.autograd.grad`` on a detached copy of the input: the kernels write the exact per-step
norms of dL/dh_t, no ``.grad`` is touched, no parameter hook fires, and the caller's random
generator is restored (forked) afterwards. The replayed forward equals torch's to float
rounding (about 1e-7 relative in float32), which is what the norms can differ by.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gradtrace.tracing.fused import FusedForward

logger = logging.getLogger("gradtrace")


def _tensors_of(output: Any) -> list[torch.Tensor]:
    """The output tensors of a fused call, in a fixed order: sequence, h_n (, c_n)."""
    seq, hidden = output
    seq = seq.data if isinstance(seq, PackedSequence) else seq
    states = list(hidden) if isinstance(hidden, tuple) else [hidden]
    return [seq, *states]


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, PackedSequence):
        return PackedSequence(value.data.detach(), *value[1:])
    if isinstance(value, tuple):
        return tuple(_detached(v) for v in value)
    return value


@dataclass
class CapturedCall:
    """One observed call of a fused module."""

    module: nn.RNNBase
    kind: str
    input: Any
    hx: Any
    rng: tuple[str, torch.Tensor] | None
    segment: int
    versions: tuple[int, ...] = ()  # the parameters' version counters at the forward
    grads: list[torch.Tensor | None] = field(default_factory=list)
    shapes: list[torch.Size] = field(default_factory=list)
    reached: bool = False

    def hook_outputs(self, output: Any) -> None:
        """Register tensor hooks that keep the gradient arriving at every output."""
        tensors = _tensors_of(output)
        self.grads = [None] * len(tensors)
        self.shapes = [t.shape for t in tensors]
        for index, tensor in enumerate(tensors):
            if tensor.requires_grad:
                tensor.register_hook(partial(self._store, index))

    def _store(self, index: int, grad: torch.Tensor) -> None:
        self.grads[index] = grad.detach()
        self.reached = True

    def changed(self) -> bool:
        """Whether a parameter of the module changed in place since the forward (a step)."""
        return tuple(p._version for p in self.module.parameters()) != self.versions

    def replay(self, *, cell_state: bool) -> dict:
        """Run the call through gradtrace's kernels and backpropagate the captured gradients.

        Returns {(layer, direction): StepNorms}, filled; {} (and a log line) when the
        parameters changed since the forward, since the replay would no longer be exact.
        """
        records: dict = {}
        if self.changed():
            logger.warning(
                "gradtrace: the profile of %s is left out: its parameters changed between the "
                "forward and the profile (read it before optimizer.step(); with a Monitor and a "
                "closure optimizer call monitor.observe() inside the closure)",
                type(self.module).__name__,
            )
            return records
        forward = FusedForward(self.module, self.kind, lambda: records, cell_state=cell_state)
        data = self.input.data if isinstance(self.input, PackedSequence) else self.input
        leaf = data.detach().requires_grad_(True)
        given = (
            PackedSequence(leaf, *self.input[1:])
            if isinstance(self.input, PackedSequence)
            else leaf
        )
        devices = [leaf.device] if leaf.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            if self.rng is not None:
                _set_rng(self.rng)
            output = forward(given, self.hx)
            outs = _tensors_of(output)
            pairs = [
                (out, grad if grad is not None else torch.zeros_like(out))
                for out, grad in zip(outs, self.grads, strict=True)
                if out.requires_grad
            ]
            if pairs:
                torch.autograd.grad(
                    [p[0] for p in pairs], [leaf], [p[1] for p in pairs], allow_unused=True
                )
        return records


def rng_state(module: nn.RNNBase, device: torch.device) -> tuple[str, torch.Tensor] | None:
    """The generator state a call's dropout will draw from (None when the call draws nothing)."""
    if not (module.training and module.dropout and module.num_layers > 1):
        return None
    if device.type == "cuda":
        return ("cuda", torch.cuda.get_rng_state(device))
    return ("cpu", torch.get_rng_state())


def _set_rng(state: tuple[str, torch.Tensor]) -> None:
    kind, value = state
    if kind == "cuda":
        torch.cuda.set_rng_state(value)
    else:
        torch.set_rng_state(value)


def capture_call(
    module: nn.RNNBase, kind: str, args: tuple, kwargs: dict, rng: Any, segment: int
) -> CapturedCall | None:
    """A CapturedCall of one call's inputs, or None when the call cannot be replayed."""
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    if not isinstance(x, torch.Tensor | PackedSequence):
        return None
    versions = tuple(p._version for p in module.parameters())
    return CapturedCall(module, kind, _detached(x), _detached(hx), rng, segment, versions)
