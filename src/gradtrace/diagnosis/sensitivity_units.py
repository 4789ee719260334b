"""How each recurrent layer becomes a float64 function of its parameters, for ``sensitivity``.

A fused torch module is rerun from a float64 copy on the input it received; a one-step cell is
rerun along its recorded calls through ``torch.func.functional_call``, its own output fed back
as the next state; a diagonal layer (LRU, minGRU, minLSTM, selective SSM) is rerun from a
float64 copy on its first call's arguments. Each gives a ``Unit``: the parameters (float64
leaves), the final state h_T (E, n) as a function of them, and which parameters are recurrent
and which read the input. A layer that cannot be rerun is a (name, why) pair instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parametrize

from gradtrace.diagnosis.recorder import CellCall, Recording, detach, put_state
from gradtrace.models.introspect import RecurrentModule, recurrent_modules

F64 = torch.float64
FLOPS_PER_PASS_STEP = 1 << 14  # fused layers: the pass-step budget as multiply-adds


@dataclass
class Unit:
    """One layer to measure: a float64 function params -> final state (E, n)."""

    name: str
    params: dict[str, torch.Tensor]  # float64 leaves
    final_state: Callable[[], torch.Tensor]
    recurrent: tuple[str, ...]
    inputs: tuple[str, ...]
    steps: int
    module: str = ""
    separable: int = 0  # c > 0: unit n's c state components depend on its own parameter rows


# gradtrace's diagonal layers: (recurrent, input) parameters in the paper's terms
def diagonal_roles() -> dict[type, tuple[tuple[str, ...], tuple[str, ...], int]]:
    from gradtrace.models.frontier.lru import LRULayer
    from gradtrace.models.frontier.mingru import MinGRULayer
    from gradtrace.models.frontier.minlstm import MinLSTMLayer
    from gradtrace.models.frontier.selective_ssm import SelectiveSSMLayer

    return {
        LRULayer: (("nu_log", "theta_log"), ("B_re", "B_im"), 2),
        MinGRULayer: (("linear.weight[0/2]",), ("linear.weight[1/2]",), 1),
        MinLSTMLayer: (("linear.weight[0/3]", "linear.weight[1/3]"), ("linear.weight[2/3]",), 1),
        SelectiveSSMLayer: (("A_log", "dt_proj.weight"), ("x_proj.weight[B]",), 0),
    }


def units(
    model: nn.Module,
    recording: Recording,
    layers: dict,
    cells: Any,
    examples: int,
    budget: int | None,
) -> Iterator[Any]:
    """A Unit, a ready LayerSensitivity (fused fast path) or (name, why) per recurrent layer."""
    from gradtrace.diagnosis.sensitivity_fused import fast_path, fused_sensitivities

    for entry in recurrent_modules(model, cells):
        if entry.is_cell:
            calls = recording.cells.get(entry.path)
            if calls:
                yield _cell_unit(entry, calls, examples)
        elif entry.path in recording.fused:
            x, hx = recording.fused[entry.path]
            calls = recording.fused_calls.get(entry.path, 1)
            if calls > 1:
                yield (
                    entry.path or entry.kind,
                    (
                        f"called {calls} times in one forward (a step or a few at a time, like a "
                        "decoder): the state after one call says nothing about the memory across "
                        "calls; declare the module as a cell (cells={...}) to follow it"
                    ),
                )
                continue
            if fast_path(entry):
                flops = None if budget is None else budget * FLOPS_PER_PASS_STEP
                yield from fused_sensitivities(entry, x, hx, examples, flops)
            else:
                yield from _fused_units(entry, x, hx, examples)
    roles = diagonal_roles()
    for path, (layer, args, kwargs) in layers.items():
        recurrent, inputs, separable = roles[type(layer)]
        unit = _layer_unit(layer, args, kwargs, examples, recurrent, inputs)
        unit.separable, unit.module = separable, path
        yield unit


def _cast(value: Any, examples: int, batch_dim: int = 0) -> Any:
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() or value.is_complex():
            value = value.to(torch.complex128 if value.is_complex() else F64)
        if value.dim() > batch_dim:
            return value.narrow(batch_dim, 0, min(examples, value.shape[batch_dim]))
        return value
    if isinstance(value, tuple | list):
        return type(value)(_cast(v, examples, batch_dim) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, examples, batch_dim) for k, v in value.items()}
    return value


def _real_state(parts: list[torch.Tensor]) -> torch.Tensor:
    flat = [torch.view_as_real(p).flatten(1) if p.is_complex() else p.flatten(1) for p in parts]
    return torch.cat(flat, dim=1)


def _leaves(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.requires_grad_(True) for k, v in module.named_parameters()}


def _fused_units(entry: RecurrentModule, x, hx, examples) -> Iterator[Unit]:
    module = copy.deepcopy(entry.module).to(F64)
    batch_first = bool(getattr(module, "batch_first", False))
    unbatched = isinstance(x, torch.Tensor) and x.dim() == 2
    xs = _cast(x.unsqueeze(1) if unbatched else x, examples, 0 if batch_first else 1)
    hs = (
        None
        if hx is None
        else _cast(
            tuple(h.unsqueeze(1) for h in hx)
            if unbatched and isinstance(hx, tuple)
            else (hx.unsqueeze(1) if unbatched else hx),
            examples,
            1,
        )
    )
    directions = 2 if entry.bidirectional else 1
    steps = int(xs.shape[1 if batch_first else 0])
    cache: dict[str, Any] = {}

    def states() -> Any:
        if "out" not in cache:
            cache["out"] = module(xs, hs)[1]
        return cache["out"]

    for layer in range(entry.num_layers):
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            name = f"{entry.path or entry.kind}.l{layer}" + (".reverse" if direction else "")
            index = layer * directions + direction

            def final(index=index) -> torch.Tensor:
                out = states()
                parts = [out[0][index], out[1][index]] if isinstance(out, tuple) else [out[index]]
                return _real_state(parts)

            yield Unit(
                name=name,
                module=entry.path,
                params=_leaves(module),
                final_state=final,
                recurrent=("weight_hh" + suffix,),
                inputs=("weight_ih" + suffix,),
                steps=steps,
            )


def _cell_roles(entry: RecurrentModule) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    declared = entry.declaration
    if declared is not None and (declared.recurrent or declared.inputs):
        return tuple(declared.recurrent), tuple(declared.inputs)
    names = {k for k, _ in entry.module.named_parameters()}
    if {"weight_hh", "weight_ih"} <= names:
        return ("weight_hh",), ("weight_ih",)
    return None


def _cell_unit(entry: RecurrentModule, calls: list[CellCall], examples: int):
    from gradtrace.diagnosis.generic import _leaves as state_leaves
    from gradtrace.diagnosis.generic import _state_in, _state_out, _unmatched

    name = entry.path or "cell"
    roles = _cell_roles(entry)
    if roles is None:
        return name, (
            "which parameters are recurrent is not known: declare them with "
            "gradtrace.recurrent_cell(recurrent=[...], inputs=[...])"
        )
    why = _unmatched(entry, calls[0])
    if why is not None:
        return name, why
    cell = entry.module
    params = {k: v.detach().to(F64).requires_grad_(True) for k, v in cell.named_parameters()}
    buffers = {
        k: v.detach().to(F64) if v.is_floating_point() else v for k, v in cell.named_buffers()
    }
    where = entry.declaration.state_arg if entry.declaration else 1

    def final() -> torch.Tensor:
        with parametrize.cached():  # a parametrized weight (expRNN's) is computed once
            return run_chain()

    def run_chain() -> torch.Tensor:
        first = _state_in(entry, calls[0])
        template = [_cast(t, examples) for t in _state_out(entry, calls[0].output)]
        if first is None:
            state = [torch.zeros_like(t) for t in template]
            pair = len(template) == 2
        else:
            state = [_cast(t, examples) for t in state_leaves(first)]
            pair = not isinstance(first, torch.Tensor)
        for call in calls:
            args = list(_cast(call.args, examples))
            kwargs = dict(_cast(call.kwargs or {}, examples))
            if args and args[0] is not None:
                kwargs.pop("input_proj", None)  # the cell computes it from x: theta_in counts
            value = tuple(state) if pair else state[0]
            put_state(args, kwargs, where, value)
            result = functional_call(cell, {**params, **buffers}, tuple(args), kwargs)
            state = _state_out(entry, result)
        return _real_state(state)

    return Unit(
        name=name,
        module=entry.path,
        params=params,
        final_state=final,
        recurrent=roles[0],
        inputs=roles[1],
        steps=len(calls),
        separable=1 if _elementwise_cell(cell) else 0,
    )


def _elementwise_cell(cell: nn.Module) -> bool:
    from gradtrace.models.frontier.indrnn import IndRNNCell

    return isinstance(cell, IndRNNCell)  # h_n reads u_n, W[n], b[n] only


def _layer_unit(layer, args, kwargs, examples, recurrent, inputs) -> Unit:
    module = copy.deepcopy(layer).to(F64)
    xs = _cast(args, examples)
    kw = _cast(kwargs, examples)

    def final() -> torch.Tensor:
        return _real_state([module(*xs, **kw)[1]])

    steps = int(xs[0].shape[1]) if xs and isinstance(xs[0], torch.Tensor) else 0
    return Unit(
        name=getattr(layer, "name", type(layer).__name__),
        params=_leaves(module),
        final_state=final,
        recurrent=recurrent,
        inputs=inputs,
        steps=steps,
    )


class _diagonal_inputs:
    """Capture the first call's arguments of every diagonal layer in ``model``."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.found, self.handles = model, {}, []

    def __enter__(self) -> dict[str, tuple[nn.Module, tuple, dict]]:
        roles = diagonal_roles()
        for path, module in self.model.named_modules():
            if type(module) in roles:

                def keep(mod, args, kwargs, path=path):
                    if path not in self.found:
                        self.found[path] = (mod, detach(args), detach(kwargs))

                self.handles.append(module.register_forward_pre_hook(keep, with_kwargs=True))
        return self.found

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()


def diagonal_inputs(model: nn.Module) -> _diagonal_inputs:
    """Context manager: {path: (layer, args, kwargs)} of each diagonal layer's first call."""
    return _diagonal_inputs(model)
