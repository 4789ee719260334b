"""Record what every recurrent module of a model receives during one forward pass.

A packed batch is kept as its full-length examples (padded), so the replay follows real steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from gradtrace.models.introspect import RecurrentModule, recurrent_modules


@dataclass
class CellCall:
    """One step of a cell: its input, the state it got, an optional input projection, its output."""

    x: torch.Tensor | None  # (B, I)
    state: Any  # None | h (B, H) | (h, c)
    input_proj: torch.Tensor | None  # (B, G*H) precomputed W_ih x + b_ih
    output: Any  # h (B, H) | (h, c)
    args: tuple = ()  # the call's positional arguments, detached (declared cells)
    kwargs: dict | None = None  # and its keyword arguments


@dataclass
class Recording:
    """The inputs each recurrent module saw: fused modules once, cells at every step."""

    fused: dict[str, tuple[torch.Tensor, Any]] = field(default_factory=dict)  # path -> (x, hx)
    cells: dict[str, list[CellCall]] = field(default_factory=dict)  # path -> calls in order
    fused_calls: dict[str, int] = field(default_factory=dict)  # path -> calls per forward

    def missing(self, entries: list[RecurrentModule]) -> list[str]:
        """Paths of the modules that were never called."""
        seen = set(self.fused) | set(self.cells)
        return [e.path for e in entries if e.path not in seen]


def detach(value: Any) -> Any:
    """Tensors detached inside tuples, lists (as tuples) and dicts; anything else as it is."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple | list):
        return tuple(detach(v) for v in value)
    if isinstance(value, dict):
        return {k: detach(v) for k, v in value.items()}
    return value


def _longest(module: nn.Module, packed: PackedSequence, hx: Any) -> tuple[torch.Tensor, Any]:
    """The full-length examples of a packed batch, padded in the module's layout, and their hx."""
    padded, lengths = pad_packed_sequence(packed, batch_first=module.batch_first)
    keep = torch.nonzero(lengths == lengths.max()).flatten()
    batch_dim = 0 if module.batch_first else 1
    padded = padded.index_select(batch_dim, keep.to(padded.device))
    if hx is not None:
        pick = keep.to(packed.data.device)
        hx = tuple(h.index_select(1, pick) for h in hx) if isinstance(hx, tuple) else hx[:, pick]
    return padded, hx


@contextmanager
def record(
    model: nn.Module,
    cells: Any = None,
    *,
    global_hooks: bool = False,
    on_fused: Callable[[str, Recording], None] | None = None,
) -> Iterator[Recording]:
    """Hook every recurrent module of ``model`` (and declared ``cells``); removed on exit.

    ``global_hooks``: use torch's global module hooks (filtered to these modules) instead of
    hooks on the modules, so that nothing is stored on the model while recording.
    ``on_fused(path, recording)``: called once a fused module's input is recorded, as its
    forward starts.
    """
    recording = Recording()
    handles = []

    def fused_hook(path: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            recording.fused_calls[path] = recording.fused_calls.get(path, 0) + 1
            if path in recording.fused:
                return  # a module called twice per forward: the first call is diagnosed
            x = args[0] if args else kwargs.get("input")
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            if isinstance(x, PackedSequence):
                x, hx = _longest(module, x, hx)
            recording.fused[path] = (detach(x), detach(hx))
            if on_fused is not None:
                on_fused(path, recording)

        return hook

    def cell_hook(path: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            x = args[0] if args else kwargs.get("input", kwargs.get("x_t"))
            state = args[1] if len(args) > 1 else kwargs.get("state", kwargs.get("hx"))
            call = CellCall(detach(x), detach(state), detach(kwargs.get("input_proj")), None)
            call.output = detach(output)
            call.args = detach(args)
            call.kwargs = {k: detach(v) for k, v in kwargs.items()}
            recording.cells.setdefault(path, []).append(call)

        return hook

    entries = recurrent_modules(model, cells)
    if global_hooks:
        by_id = {id(e.module): e for e in entries}

        def dispatch(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            entry = by_id.get(id(module))
            if entry is None or not torch.is_grad_enabled():
                return
            if entry.is_cell:
                cell_hook(entry.path)(module, args, kwargs, output)
            else:
                fused_hook(entry.path)(module, args, kwargs)

        from torch.nn.modules import module as torch_module

        handle = torch_module.register_module_forward_hook(dispatch, with_kwargs=True)
        try:
            yield recording
        finally:
            handle.remove()
        return
    try:
        for entry in entries:
            if entry.is_cell:
                handles.append(
                    entry.module.register_forward_hook(cell_hook(entry.path), with_kwargs=True)
                )
            else:
                handles.append(
                    entry.module.register_forward_pre_hook(fused_hook(entry.path), with_kwargs=True)
                )
        yield recording
    finally:
        for handle in handles:
            handle.remove()


def put_state(args: list[Any], kwargs: dict[str, Any], where: int | str, value: Any) -> None:
    """Put a cell's state ``value`` where its call takes it: positional ``where`` (padding the
    arguments with None) or keyword ``where``; ``args`` and ``kwargs`` change in place."""
    if isinstance(where, int):
        while len(args) <= where:
            args.append(None)
        args[where] = value
    else:
        kwargs[where] = value
