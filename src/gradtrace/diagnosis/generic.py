"""Exact dynamics of any declared cell: Jacobians of its own forward by autograd, along its calls.

A declared cell without a known kind (see ``gradtrace.recurrent_cell``) has no closed-form
Jacobian, but every recorded call is a function of the state it received: s_t = F_t(s_{t-1}),
with F_t the cell's forward at that step's inputs (every other argument as recorded). Its
Jacobian ds_t/ds_{t-1} is taken with ``torch.func.jacrev`` of that map, in float64 with the
cell's parameters cast, for one example at a time (the batch rows of a cell are independent).
From the Jacobians: the top Lyapunov exponents (QR on J_t^T, backwards in time), the norms of
the products P_k = J_T ... J_{T-k+1} at the usual lags, and the spectral radius and largest
singular value of J_t (median over the steps). When the state the cell takes cannot be matched
to the state it returns, nothing is guessed: ``GenericRun.why`` says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from gradtrace.diagnosis.dynamics import LOG_FLOOR, LayerDynamics, lag_grid
from gradtrace.diagnosis.recorder import CellCall, Recording, put_state
from gradtrace.diagnosis.spectrum import MatrixSpectrum
from gradtrace.models.introspect import RecurrentModule, recurrent_modules

F64 = torch.float64
MAX_STATE = 1024  # state sizes beyond this are not differentiated densely


@dataclass
class GenericRun:
    """The recorded calls of one declared cell, ready to be differentiated."""

    entry: RecurrentModule
    calls: list[CellCall]
    why: str | None = None  # set when the Jacobians cannot be computed
    # example -> its (T, n, n) Jacobians, computed once for the exponents and the spectrum
    computed: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.entry.path or "cell"


def generic_runs(model: nn.Module, recording: Recording, cells: Any = None) -> list[GenericRun]:
    """One GenericRun per declared cell of unknown kind that was called."""
    runs = []
    for entry in recurrent_modules(model, cells):
        if entry.kind != "cell":
            continue
        calls = recording.cells.get(entry.path)
        if calls:
            runs.append(GenericRun(entry, calls, _unmatched(entry, calls[0])))
    return runs


def _leaves(value: Any) -> list[torch.Tensor] | None:
    if isinstance(value, torch.Tensor):
        return [value]
    if (
        isinstance(value, tuple | list)
        and value
        and all(isinstance(v, torch.Tensor) for v in value)
    ):
        return list(value)
    return None


def _state_in(entry: RecurrentModule, call: CellCall) -> Any:
    where = entry.declaration.state_arg if entry.declaration else 1
    if isinstance(where, int):
        return call.args[where] if len(call.args) > where else None
    return (call.kwargs or {}).get(where)


def _state_out(entry: RecurrentModule, output: Any) -> list[torch.Tensor]:
    h, c = entry.select(output)
    return [t for t in (h, c) if t is not None]


def _unmatched(entry: RecurrentModule, call: CellCall) -> str | None:
    where = entry.declaration.state_arg if entry.declaration else 1
    out = _state_out(entry, call.output)
    state = _state_in(entry, call)
    if state is None:  # the first call may start from None: judge by the output alone
        size = sum(t.shape[-1] for t in out)
        return None if size <= MAX_STATE else f"state size {size} > {MAX_STATE}"
    leaves = _leaves(state)
    if leaves is None or [t.shape for t in leaves] != [t.shape for t in out]:
        given = "?" if leaves is None else ", ".join(str(tuple(t.shape)) for t in leaves)
        returned = ", ".join(str(tuple(t.shape)) for t in out)
        return (
            f"the state it takes (argument {where!r}: {given}) does not match the state its "
            f"selector returns ({returned}); declare state= to return the whole carried state "
            "(e.g. lambda out: out[1] for a cell returning (h, (h, c)))"
        )
    size = sum(t.shape[-1] for t in out)
    return None if size <= MAX_STATE else f"state size {size} > {MAX_STATE}"


def jacobians(run: GenericRun, *, example: int = 0) -> torch.Tensor:
    """Dense Jacobians ds_t/ds_{t-1} (T, n, n) of one example, by autograd on the cell.

    All steps at once (``torch.func.vmap`` over time of the cell's ``jacrev``) where the calls
    share their shapes and constant arguments and the cell is vmap-able; else one ``jacrev``
    per step. Both are the same float64 derivatives of the same maps.
    """
    if run.why is not None:
        raise ValueError(f"{run.name}: {run.why}")
    if example not in run.computed:
        cell = run.entry.module
        params = {k: v.detach().to(F64) for k, v in cell.named_parameters()}
        params.update(
            {k: v.detach().to(F64) if v.is_floating_point() else v for k, v in cell.named_buffers()}
        )
        steps = [_step_map(run, call, example, params) for call in run.calls]
        try:
            found = _over_time(steps)
        except Exception:  # a cell vmap cannot batch (data-dependent code, ...)
            found = None
        if found is None:
            found = torch.stack([jacrev(step.map)(step.state)[0, :, 0, :] for step in steps])
        run.computed[example] = found
    return run.computed[example]


@dataclass
class _StepMap:
    """One call as a map of the state: s_t = map(state, *tensors) with everything else fixed."""

    map: Any  # (state (1, n), *tensors) -> (1, n); the tensors default to this call's own
    state: torch.Tensor  # (1, n) float64
    tensors: list[torch.Tensor]  # this call's tensor arguments (float64 where floating)
    constants: tuple[Any, ...]  # its other arguments, in order, and the keyword names


def _step_map(
    run: GenericRun, call: CellCall, example: int, params: dict[str, torch.Tensor]
) -> _StepMap:
    cell, entry = run.entry.module, run.entry
    where = entry.declaration.state_arg if entry.declaration else 1
    given = _state_in(entry, call)
    if given is None:
        template = [t[example : example + 1] for t in _state_out(entry, call.output)]
        state = [torch.zeros_like(t, dtype=F64) for t in template]
        pair = len(template) == 2
    else:
        state = [t[example : example + 1].to(F64) for t in _leaves(given) or []]
        pair = not isinstance(given, torch.Tensor)
    args = [_pick(a, example) for a in call.args]
    kwargs = {k: _pick(v, example) for k, v in (call.kwargs or {}).items()}
    sizes = [t.shape[-1] for t in state]
    slots = [("arg", i) for i, a in enumerate(args) if isinstance(a, torch.Tensor) and i != where]
    slots += [("kw", k) for k, v in kwargs.items() if isinstance(v, torch.Tensor) and k != where]
    tensors = [args[i] if kind == "arg" else kwargs[i] for kind, i in slots]  # type: ignore[index]

    def step(flat: torch.Tensor, *given_tensors: torch.Tensor) -> Any:
        parts = list(torch.split(flat, sizes, dim=-1))
        value = tuple(parts) if pair else parts[0]
        local_args, local_kwargs = list(args), dict(kwargs)
        for (kind, key), tensor in zip(slots, given_tensors or tensors, strict=True):
            if kind == "arg":
                local_args[key] = tensor  # type: ignore[index]
            else:
                local_kwargs[key] = tensor  # type: ignore[index]
        put_state(local_args, local_kwargs, where, value)
        result = functional_call(cell, params, tuple(local_args), local_kwargs)
        return torch.cat(_state_out(entry, result), dim=-1)

    others = tuple(
        ("arg", i, a) for i, a in enumerate(args) if ("arg", i) not in slots and i != where
    ) + tuple(("kw", k, v) for k, v in kwargs.items() if ("kw", k) not in slots and k != where)
    constants = (tuple(slots), sizes, pair, others)
    return _StepMap(step, torch.cat(state, dim=-1), tensors, constants)


def _over_time(steps: list[_StepMap]) -> torch.Tensor | None:
    """Every step's Jacobian in one vmapped jacrev, or None when the calls differ in shape or
    in a non-tensor argument (then each step is differentiated alone)."""
    first = steps[0]
    for step in steps[1:]:
        if step.state.shape != first.state.shape or len(step.tensors) != len(first.tensors):
            return None
        if any(a.shape != b.shape for a, b in zip(step.tensors, first.tensors, strict=True)):
            return None
        if not _same_constants(step.constants, first.constants):
            return None
    states = torch.stack([step.state for step in steps])  # (T, 1, n)
    tensors = [torch.stack(column) for column in zip(*(s.tensors for s in steps), strict=True)]
    jac = vmap(jacrev(first.map))(states, *tensors)  # (T, 1, n, 1, n)
    return jac[:, 0, :, 0, :]


def _same_constants(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    slots_a, sizes_a, pair_a, others_a = a
    slots_b, sizes_b, pair_b, others_b = b
    if (slots_a, sizes_a, pair_a) != (slots_b, sizes_b, pair_b) or len(others_a) != len(others_b):
        return False
    for (kind_a, key_a, value_a), (kind_b, key_b, value_b) in zip(others_a, others_b, strict=True):
        if (kind_a, key_a) != (kind_b, key_b):
            return False
        if value_a is not value_b:
            try:
                if bool(value_a != value_b):
                    return False
            except Exception:  # values that do not compare are not the same
                return False
    return True


def _pick(value: Any, example: int) -> Any:
    if isinstance(value, torch.Tensor):
        cast = value.to(F64) if value.is_floating_point() else value
        return cast[example : example + 1] if value.dim() >= 1 else cast
    if isinstance(value, tuple | list):
        return type(value)(_pick(v, example) for v in value)
    return value


def generic_dynamics(run: GenericRun, *, k: int | None = None, examples: int = 1) -> LayerDynamics:
    """Top-k Lyapunov exponents and product norms of a declared cell (method "autograd")."""
    n_examples = max(1, min(examples, _batch(run)))
    exps, logs, lags, n = [], [], [], 0
    for example in range(n_examples):
        jac = jacobians(run, example=example)  # (T, n, n)
        steps, n = jac.shape[0], jac.shape[1]
        kk = min(n, k if k is not None else min(n, 8))
        generator = torch.Generator().manual_seed(example)
        q, _ = torch.linalg.qr(torch.randn(n, kk, generator=generator, dtype=F64))
        growth = torch.zeros(kk, dtype=F64)
        for t in reversed(range(steps)):
            q, r = torch.linalg.qr(jac[t].T @ q)
            growth += torch.log(r.diagonal().abs()).clamp_min(LOG_FLOOR)
        exps.append((growth / max(1, steps)).sort(descending=True).values.numpy())
        lags = lag_grid(steps)
        product, kept, wanted = torch.eye(n, dtype=F64), [], set(lags)
        for lag in range(1, (lags[-1] if lags else 0) + 1):
            product = product @ jac[steps - lag]
            if lag in wanted:
                kept.append(torch.linalg.matrix_norm(product, ord=2))
        norms = torch.stack(kept).numpy() if kept else np.zeros(0)
        logs.append(np.log(np.maximum(norms, np.finfo(np.float64).tiny)))
    return LayerDynamics(
        name=run.name,
        kind="cell",
        layer=0,
        direction="forward",
        state_size=n,
        steps=len(run.calls),
        examples=n_examples,
        exponents=[float(v) for v in np.mean(exps, axis=0)],
        lags=list(lags),
        product_norms=[float(v) for v in np.exp(np.mean(logs, axis=0))] if lags else None,
        method="autograd",
    )


SPECTRUM_BUDGET = 2**27  # n^3 x steps of eigenvalue work for the medians (64 steps at n = 128)


def spectrum_steps(steps: int, n: int) -> list[int]:
    """The steps whose J_t the medians use: all of them within SPECTRUM_BUDGET, else as many
    as it allows (at least 16) spread evenly from the first to the last."""
    most = max(16, SPECTRUM_BUDGET // max(1, n**3))
    if steps <= most:
        return list(range(steps))
    return sorted({round(i * (steps - 1) / (most - 1)) for i in range(most)})


def generic_spectrum(run: GenericRun) -> MatrixSpectrum:
    """Spectral radius and largest singular value of J_t along the trajectory (medians over
    `spectrum_steps`; the eigenvalues shown are the last step's)."""
    jac = jacobians(run, example=0)
    chosen = jac[spectrum_steps(jac.shape[0], jac.shape[1])]
    radius = torch.linalg.eigvals(chosen).abs().max(dim=-1).values
    singular = torch.linalg.matrix_norm(chosen, ord=2)
    values = torch.linalg.eigvals(jac[-1])
    return MatrixSpectrum(
        name=run.name,
        kind="cell",
        layer=0,
        direction="forward",
        gate="J_t",
        activation=None,
        spectral_radius=float(radius.median()),
        max_singular=float(singular.median()),
        eigenvalues=[[float(v.real), float(v.imag)] for v in values],
    )


def _batch(run: GenericRun) -> int:
    out = _state_out(run.entry, run.calls[0].output)
    return int(out[0].shape[0]) if out and out[0].dim() >= 2 else 1
