"""The curse of memory, measured: how sensitive each recurrent layer's final state is to its
recurrent parameters, relative to its input parameters.

Vanishing and exploding gradients are about dL/dh_t across time. A layer can pass gradients
well and still be hard to train: as its memory grows (eigenvalues |lambda| -> 1) the state
h_T becomes very sensitive to the parameters that set the memory (Zucchet & Orvieto 2024,
"Recurrent neural networks: vanishing and exploding gradients are not the end of the story").
gradtrace measures, per recurrent layer and for the first ``examples`` examples,

    S_rec = sqrt(mean_e ||dh_T/dtheta_rec||_F^2 / P_rec)     (RMS over the P_rec recurrent
    S_in  = sqrt(mean_e ||dh_T/dtheta_in||_F^2  / P_in)      and P_in input parameters)
    ratio = S_rec / S_in

h_T is the layer's final state (h and c for an LSTM; real and imaginary parts for a complex
state). ``ratio`` says how much further one unit of change in a recurrent parameter moves the
state than the same change in an input parameter: what a shared learning rate does to each
(Adam moves every parameter by about the learning rate). For one linear unit
h_t = lambda h_{t-1} + b x_t with white-noise input of unit variance it tends to
sqrt(1 + lambda^2) / (1 - lambda^2) (b = 1): about the memory length, exploding as
|lambda| -> 1 although dh_T/dh_t = lambda^(T-t) never explodes. An exponential
parametrization of lambda (LRU) multiplies dh/dlambda by dlambda/dnu ~ (1 - |lambda|) and
keeps the ratio near 1: the remedy shows in the number.

Every row of the Jacobian is one backward pass (batched with ``is_grads_batched``), in float64
on a copy of the layer or through ``torch.func.functional_call`` on the cell, so the model and
its gradients are untouched. Which parameters are recurrent: weight_hh / weight_ih for torch's
layout and kind="rnn"/"lstm"/"gru" cells, ``recurrent_cell(recurrent=..., inputs=...)`` for
declared cells, and the paper's recurrence parameters for gradtrace's diagonal layers (LRU:
nu, theta vs B; minGRU: W_z vs W_h; minLSTM: W_f, W_i vs W_h; selective SSM: A_log and the
step projection vs the B projection). A layer where that is not known is reported as not
computed, with the reason.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils import parametrize

from gradtrace.diagnosis.recorder import CellCall, Recording
from gradtrace.models.introspect import RecurrentModule, recurrent_modules

F64 = torch.float64
SENSITIVITY_THRESHOLD = 10.0  # ratio at or above which a layer is over-sensitive
ROW_STEP_BUDGET = 1 << 16  # backward passes x steps spent without being asked (sensitivity=None)
OVER_SENSITIVE = "over-sensitive (curse of memory)"
FLOPS_PER_PASS_STEP = 1 << 14  # fused layers: the pass-step budget as multiply-adds


@dataclass
class LayerSensitivity:
    """The final state's sensitivity to one layer's recurrent vs input parameters (JSON-able)."""

    name: str
    recurrent: list[str]  # parameter names (with [i/k]: the i-th of k row blocks)
    inputs: list[str]
    recurrent_rms: float  # S_rec: RMS over recurrent parameters of ||dh_T/dtheta||_2
    input_rms: float  # S_in
    ratio: float  # S_rec / S_in
    state_norm: float  # sqrt(mean_e ||h_T||^2)
    state_size: int
    steps: int
    examples: int
    module: str = ""  # the module's path in the model ("" for the model itself)
    parts: dict[str, float] = field(default_factory=dict)  # recurrent role -> its own RMS
    method: str = "autograd, one backward pass per state unit, float64"

    def parameter_paths(self) -> list[str]:
        """Full parameter names of the recurrent roles in ``model.named_parameters()``."""
        names = dict.fromkeys(ROLE.match(r)["name"] for r in self.recurrent if ROLE.match(r))
        return [f"{self.module}.{n}" if self.module else n for n in names]

    def top_part(self) -> str:
        """The recurrent role with the largest RMS (the one to slow down first)."""
        return max(self.parts, key=self.parts.__getitem__) if self.parts else ""

    def over_sensitive(self, threshold: float = SENSITIVITY_THRESHOLD) -> bool:
        """Whether the recurrent parameters are ``threshold`` times more sensitive or more."""
        return math.isfinite(self.ratio) and self.ratio >= threshold

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerSensitivity:
        """Inverse of `to_dict`."""
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        for key in ("recurrent_rms", "input_rms", "ratio", "state_norm"):
            known[key] = math.nan if known.get(key) is None else float(known[key])
        known["parts"] = {
            str(k): math.nan if v is None else float(v)
            for k, v in (known.get("parts") or {}).items()
        }
        return cls(**known)


@dataclass
class Sensitivities:
    """What ``parameter_sensitivity`` found: measured layers and those it could not measure."""

    layers: list[LayerSensitivity] = field(default_factory=list)
    not_computed: dict[str, str] = field(default_factory=dict)  # layer name -> why


@dataclass
class _Unit:
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
def _diagonal_roles() -> dict[type, tuple[tuple[str, ...], tuple[str, ...], int]]:
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


def parameter_sensitivity(
    model: nn.Module,
    batch: Any,
    *,
    forward: Callable[[nn.Module, Any], Any] | None = None,
    cells: Any = None,
    examples: int = 1,
    budget: int | None = ROW_STEP_BUDGET,
) -> Sensitivities:
    """The curse-of-memory sensitivity of every recurrent layer of ``model`` on ``batch``.

    ``examples``: how many examples (the first ones) the Jacobians are taken on. ``budget``:
    skip (and say so) a layer whose Jacobian rows x steps exceed it; None measures every layer.
    """
    from gradtrace.diagnosis.late_loss import call_model
    from gradtrace.diagnosis.recorder import record

    run = call_model(model, batch, forward)
    with torch.no_grad(), record(model, cells) as recording, _diagonal_inputs(model) as layers:
        run()
    return measure(model, recording, layers, cells=cells, examples=examples, budget=budget)


def measure(
    model: nn.Module,
    recording: Recording,
    layers: dict[str, tuple[nn.Module, tuple, dict]],
    *,
    cells: Any = None,
    examples: int = 1,
    budget: int | None = ROW_STEP_BUDGET,
) -> Sensitivities:
    """Sensitivities from a recording (cells, fused modules) and the diagonal layers' inputs."""
    found = Sensitivities()
    for unit_or_why in _units(model, recording, layers, cells, examples, budget):
        if isinstance(unit_or_why, LayerSensitivity):
            found.layers.append(unit_or_why)
            continue
        if isinstance(unit_or_why, tuple):
            name, why = unit_or_why
            found.not_computed[name] = why
            continue
        unit = unit_or_why
        with torch.enable_grad():
            state = unit.final_state()
        passes = state.shape[0] * (unit.separable or state.shape[1])
        if budget is not None and passes * unit.steps > budget:
            found.not_computed[unit.name] = (
                f"{passes} backward passes over {unit.steps} steps exceed the automatic budget "
                f"({budget} pass-steps); pass sensitivity=True to measure it"
            )
            continue
        try:
            found.layers.append(_measure(unit, state))
        except _Unknown as error:
            found.not_computed[unit.name] = str(error)
    return found


class _Unknown(Exception):
    """A named parameter role that the layer does not have."""


def _measure(unit: _Unit, state: torch.Tensor) -> LayerSensitivity:
    squares = _row_squares(state, unit.params, unit.separable)  # name -> sum over rows
    rec_sq, rec_count = _role_totals(unit.recurrent, squares, unit.params)
    in_sq, in_count = _role_totals(unit.inputs, squares, unit.params)
    examples = int(state.shape[0])
    parts = {}
    for role in unit.recurrent:
        sq, count = _role_totals((role,), squares, unit.params)
        parts[role] = math.sqrt(sq / examples / count)
    s_rec = math.sqrt(rec_sq / examples / rec_count)
    s_in = math.sqrt(in_sq / examples / in_count)
    norm = math.sqrt(float(state.detach().pow(2).sum()) / examples)
    return LayerSensitivity(
        name=unit.name,
        recurrent=list(unit.recurrent),
        inputs=list(unit.inputs),
        recurrent_rms=s_rec,
        input_rms=s_in,
        ratio=s_rec / s_in if s_in > 0 else math.inf,
        state_norm=norm,
        state_size=int(state.shape[1]),
        steps=unit.steps,
        examples=examples,
        module=unit.module,
        parts=parts,
    )


def _row_squares(
    state: torch.Tensor, params: dict[str, torch.Tensor], separable: int = 0
) -> dict[str, torch.Tensor]:
    """For each parameter, the sum over Jacobian rows of (d state_row / d param)^2.

    ``separable`` = c > 0: state unit n (c real components) depends on its own rows of every
    parameter only (an element-wise recurrence), so one backward pass per example and
    component gives all the rows of that component at once (their gradients do not overlap).
    """
    names = [k for k, v in params.items() if v.requires_grad]
    leaves = [params[k] for k in names]
    totals = {k: torch.zeros_like(params[k]) for k in names}
    for mask in _row_masks(state, separable):
        grads = torch.autograd.grad(
            state, leaves, grad_outputs=mask, retain_graph=True, allow_unused=True
        )
        for k, g in zip(names, grads, strict=True):
            if g is not None:
                totals[k] += g.pow(2)
    return totals


def _row_masks(state: torch.Tensor, separable: int) -> Iterator[torch.Tensor]:
    """One-hot grad_outputs: a row each, or a whole component of one example when separable."""
    examples, width = state.shape
    if separable:
        for e in range(examples):
            for k in range(separable):
                mask = torch.zeros_like(state)
                mask[e, k::separable] = 1
                yield mask
        return
    for e in range(examples):
        for i in range(width):
            mask = torch.zeros_like(state)
            mask[e, i] = 1
            yield mask


ROLE = re.compile(r"^(?P<name>[\w.]+)(\[(?P<part>\d+|B)(/(?P<parts>\d+))?\])?$")


def _role_totals(
    roles: tuple[str, ...], squares: dict[str, torch.Tensor], params: dict[str, torch.Tensor]
) -> tuple[float, int]:
    total, count = 0.0, 0
    for role in roles:
        match = ROLE.match(role)
        if match is None or match["name"] not in params:
            raise _Unknown(f"parameter {role!r} is not in the layer")
        sq = squares.get(match["name"], torch.zeros_like(params[match["name"]]))
        if match["part"] == "B":  # the selective SSM's B projection rows
            sq = sq[-2 * _ssm_state(params) : -_ssm_state(params)]
        elif match["part"] is not None:
            sq = sq.chunk(int(match["parts"]), dim=0)[int(match["part"])]
        total += float(sq.sum())
        count += sq.numel()
    if count == 0:
        raise _Unknown(f"no parameters among {', '.join(roles)}")
    return total, count


def _ssm_state(params: dict[str, torch.Tensor]) -> int:
    return int(params["A_log"].shape[1])


def _units(
    model, recording, layers, cells, examples, budget
) -> Iterator[_Unit | LayerSensitivity | tuple[str, str]]:
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
    roles = _diagonal_roles()
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


def _fused_units(entry: RecurrentModule, x, hx, examples) -> Iterator[_Unit]:
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

            yield _Unit(
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
            if isinstance(where, int):
                while len(args) <= where:
                    args.append(None)
                args[where] = value
            else:
                kwargs[where] = value
            result = functional_call(cell, {**params, **buffers}, tuple(args), kwargs)
            state = _state_out(entry, result)
        return _real_state(state)

    return _Unit(
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


def _layer_unit(layer, args, kwargs, examples, recurrent, inputs) -> _Unit:
    module = copy.deepcopy(layer).to(F64)
    xs = _cast(args, examples)
    kw = _cast(kwargs, examples)

    def final() -> torch.Tensor:
        return _real_state([module(*xs, **kw)[1]])

    steps = int(xs[0].shape[1]) if xs and isinstance(xs[0], torch.Tensor) else 0
    return _Unit(
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
        roles = _diagonal_roles()
        for path, module in self.model.named_modules():
            if type(module) in roles:

                def keep(mod, args, kwargs, path=path):
                    if path not in self.found:
                        self.found[path] = (mod, _detach(args), _detach(kwargs))

                self.handles.append(module.register_forward_pre_hook(keep, with_kwargs=True))
        return self.found

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()


def diagonal_inputs(model: nn.Module) -> _diagonal_inputs:
    """Context manager: {path: (layer, args, kwargs)} of each diagonal layer's first call."""
    return _diagonal_inputs(model)


def _detach(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple | list):
        return type(value)(_detach(v) for v in value)
    if isinstance(value, dict):
        return {k: _detach(v) for k, v in value.items()}
    return value
