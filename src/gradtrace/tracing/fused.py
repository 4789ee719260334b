"""A drop-in forward for torch nn.RNN / nn.LSTM / nn.GRU that records ||dL/dh_t|| for every step.

While a trace is active, a fused module's ``forward`` is this object: the same function of the
same parameters (every layer, direction, proj_size, h0/c0, batch_first, unbatched and
PackedSequence inputs), computed by the layer kernels in ``kernels/``, which run a step loop
forward and hand-written BPTT backward and write per-example gradient norms on the way.
Inter-layer dropout in training mode calls ``torch.dropout`` on a tensor of the same shape and
memory layout as torch's CPU kernels do, so it consumes the random generator identically and
draws the same masks (cuDNN draws its own masks on CUDA; there the masks differ).
Without autograd (``torch.no_grad()``, or nothing that requires grad) the module's own forward
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gradtrace.tracing.kernels import run_layer
from gradtrace.tracing.kernels.common import StepNorms
from gradtrace.tracing.plan import StepPlan


@dataclass
class _Inputs:
    """A call's inputs in the kernels' layout: flat time-major rows and full initial states."""

    x: torch.Tensor  # (N, I)
    sizes: list[int]  # rows per time step
    h0: torch.Tensor  # (L*D, B, P)
    c0: torch.Tensor | None  # (L*D, B, H) for an LSTM
    packed: tuple | None  # (batch_sizes, sorted_indices, unsorted_indices)
    unbatched: bool


class FusedForward:
    """Replacement ``forward`` of one torch recurrent module (see the module docstring)."""

    def __init__(
        self, module: nn.RNNBase, kind: str, record: Callable[[], dict], *, cell_state: bool
    ) -> None:
        self.module = module
        self.kind = kind
        self.record = record  # () -> dict (layer, direction) -> StepNorms of a new call
        self.cell_state = cell_state  # record dL/dc_t of LSTM layers too
        self.original = type(module).forward.__get__(module)

    def __call__(self, input: Any, hx: Any = None) -> Any:
        if not torch.is_grad_enabled():
            return self.original(input, hx)
        inputs = self._prepare(input, hx)
        if inputs is None:  # something torch rejects: let it say so in its own words
            return self.original(input, hx)
        states = (inputs.x, inputs.h0, inputs.c0, *self.module.parameters())
        if not any(s is not None and s.requires_grad for s in states):
            return self.original(input, hx)  # no gradient will flow: nothing to trace
        return self._run(inputs)

    def _prepare(self, input: Any, hx: Any) -> _Inputs | None:
        module, lstm = self.module, self.kind == "lstm"
        layers = module.num_layers * (2 if module.bidirectional else 1)
        width = (module.proj_size or module.hidden_size) if lstm else module.hidden_size
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            checked, x, unbatched = data, data, False
            sizes = batch_sizes.tolist()
            packed = (batch_sizes, sorted_indices, unsorted_indices)
            if hx is not None:
                hx = module.permute_hidden(hx, sorted_indices)
        else:
            if not isinstance(input, torch.Tensor) or input.dim() not in (2, 3):
                return None
            unbatched, packed, batch_sizes = input.dim() == 2, None, None
            if hx is not None:
                states = hx if lstm else (hx,)
                if not isinstance(states, tuple) or any(
                    not isinstance(s, torch.Tensor) or s.dim() != 3 - unbatched for s in states
                ):
                    return None
                if unbatched:
                    hx = tuple(s.unsqueeze(1) for s in states) if lstm else hx.unsqueeze(1)
            checked = input.unsqueeze(0 if module.batch_first else 1) if unbatched else input
            steps_first = checked.transpose(0, 1) if module.batch_first else checked
            steps, batch = steps_first.shape[:2]
            sizes = [batch] * steps
            x = steps_first.reshape(steps * batch, -1)
        if not sizes or sizes[0] == 0:
            return None
        if hx is None:
            zeros = x.new_zeros(layers, sizes[0], width)
            hx = (zeros, x.new_zeros(layers, sizes[0], module.hidden_size)) if lstm else zeros
        try:
            module.check_forward_args(checked, hx, batch_sizes)
        except (RuntimeError, ValueError, TypeError, AttributeError):
            return None
        h0, c0 = hx if lstm else (hx, None)
        return _Inputs(x, sizes, h0, c0, packed, unbatched)

    def _run(self, inputs: _Inputs) -> Any:
        module, kind = self.module, self.kind
        directions = 2 if module.bidirectional else 1
        plans = [StepPlan(inputs.sizes, reverse=bool(d)) for d in range(directions)]
        records = self.record()
        layer_in, h_n, c_n = inputs.x, [], []
        for layer in range(module.num_layers):
            outs = []
            for direction, plan in enumerate(plans):
                index = layer * directions + direction
                norms = StepNorms.empty(plan, layer_in, cell=kind == "lstm" and self.cell_state)
                records[(layer, direction)] = norms
                if layer and directions == 1 and not (module.dropout and module.training):
                    norms.below = records[(layer - 1, 0)]  # its only reader (rescale.Link)
                out, h, c = run_layer(
                    kind,
                    module,
                    layer,
                    direction,
                    layer_in,
                    inputs.h0[index],
                    None if inputs.c0 is None else inputs.c0[index],
                    plan,
                    norms,
                )
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_in = outs[0] if directions == 1 else torch.cat(outs, dim=1)  # (N, D*P)
            if module.dropout and module.training and layer < module.num_layers - 1:
                layer_in = torch.dropout(layer_in, module.dropout, True)
        hidden = torch.stack(h_n)
        if kind == "lstm":
            hidden = (hidden, torch.stack(c_n))
        if inputs.packed is not None:
            batch_sizes, sorted_indices, unsorted_indices = inputs.packed
            output = PackedSequence(layer_in, batch_sizes, sorted_indices, unsorted_indices)
            return output, module.permute_hidden(hidden, unsorted_indices)
        output = layer_in.view(len(inputs.sizes), inputs.sizes[0], -1)  # (T, B, D*P)
        if module.batch_first:
            output = output.transpose(0, 1)
        if inputs.unbatched:
            output = output.squeeze(0 if module.batch_first else 1)
            hidden = tuple(s.squeeze(1) for s in hidden) if kind == "lstm" else hidden.squeeze(1)
        return output, hidden
