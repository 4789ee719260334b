"""trace(model): a context manager that records the exact gradient reaching every recurrent step.

    with gradtrace.trace(model) as tr:
        loss = criterion(model(x), y)
        loss.backward()
    profile = tr.profile

Inside the block every torch nn.RNN / nn.LSTM / nn.GRU in the model runs through gradtrace's
layer kernels (same function, same parameters; see ``fused``) and every one-step cell is wrapped
so that hooks see each step (see ``cells``). Nothing else changes: on exit (also after an
exception) each module's forward is restored; no hook, parameter, buffer or flag is touched.

Passes: a pass is what the model computes between two backward passes. The first recurrent call
after a backward starts a new pass; ``profile`` describes the latest pass that a backward
reached. Within a pass, a fused module called k times yields layers named ``<path>.l0``,
``<path>.l0#2``, ..., and a cell yields one step per call, in call order. Calls that no backward
reached (a validation forward without torch.no_grad(), say) are left out.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models.introspect import RecurrentModule, recurrent_modules
from gradtrace.tracing.cells import CellForward, CellSteps
from gradtrace.tracing.fused import FusedForward
from gradtrace.tracing.profile import GradientProfile, LayerProfile

_TORCH_FORWARDS = {nn.RNN.forward, nn.LSTM.forward, nn.GRU.forward}
_SUPPORTED = (
    "torch nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell and gradtrace cells "
    "(modules with a class attribute gradtrace_kind)"
)


class _Pass:
    """What one pass recorded: per fused module a list of calls, per cell its steps."""

    def __init__(self) -> None:
        self.calls: dict[int, list[dict]] = {}  # id(module) -> [{(layer, direction): norms}]
        self.cells: dict[int, CellSteps] = {}

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor this pass holds: per-step norms only, (T*B,) or (B,) per step."""
        found = [t for steps in self.cells.values() for t in (*steps.h, *steps.c) if t is not None]
        for calls in self.calls.values():
            for call in calls:
                found += [t for n in call.values() for t in (n.h, n.c) if t is not None]
        return found

    def reached(self) -> bool:
        """Whether a backward pass has written any of this pass's records."""
        if any(steps.filled for steps in self.cells.values()):
            return True
        return any(n.filled for calls in self.calls.values() for c in calls for n in c.values())


class Tracer:
    """The context manager ``trace`` returns; ``profile`` holds the result after backward."""

    def __init__(self, model: nn.Module, *, cell_state: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise InvalidValue("model", type(model).__name__, "a torch.nn.Module")
        if not isinstance(cell_state, bool):
            raise InvalidValue("cell_state", cell_state, "True or False")
        self.model = model
        self.cell_state = cell_state
        self.modules = _traceable(model)
        self._installed: list[tuple[nn.Module, Any]] = []
        self._handle: Any = None  # forward pre-hook on the model: counts its calls
        self._segment = 0
        self._pass = _Pass()
        self._previous: _Pass | None = None

    def __enter__(self) -> Tracer:
        if self._installed:
            raise InvalidValue("trace", "entered twice", "one with-block at a time per tracer")
        try:
            for entry in self.modules:
                self._install(entry)
            if all(entry.path for entry in self.modules):  # the model is not itself a cell
                self._handle = self.model.register_forward_pre_hook(self._next_segment)
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    def _install(self, entry: RecurrentModule) -> None:
        module = entry.module
        if entry.is_cell:
            forward: Any = CellForward(
                module, entry.kind, lambda h, c: self._add_step(module, h, c), entry.path
            )
        else:
            forward = FusedForward(
                module, entry.kind, lambda: self._new_call(module), cell_state=self.cell_state
            )
        self._installed.append((module, module.__dict__.get("forward")))
        module.forward = forward

    def _restore(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        while self._installed:
            module, previous = self._installed.pop()
            if previous is None:
                module.__dict__.pop("forward", None)
            else:
                module.__dict__["forward"] = previous

    def _current(self) -> _Pass:
        if self._pass.reached():  # a backward closed the pass: this call starts the next one
            self._previous, self._pass = self._pass, _Pass()
        return self._pass

    def _new_call(self, module: nn.Module) -> dict:
        calls = self._current().calls.setdefault(id(module), [])
        calls.append({})
        return calls[-1]

    def _next_segment(self, *_: Any) -> None:
        self._segment += 1

    def _add_step(self, module: nn.Module, h: torch.Tensor, c: torch.Tensor | None) -> None:
        cells = self._current().cells
        if id(module) not in cells:
            cells[id(module)] = CellSteps(cell_state=self.cell_state)
        cells[id(module)].add(h, c, self._segment)

    @property
    def stored_bytes(self) -> int:
        """Bytes of tensor data the tracer holds: the norms of the latest two passes, O(T*B)."""
        passes = [self._pass] if self._previous is None else [self._pass, self._previous]
        return sum(t.numel() * t.element_size() for p in passes for t in p.tensors())

    @property
    def profile(self) -> GradientProfile:
        """The GradientProfile of the latest pass that a backward reached."""
        record = self._pass if self._pass.reached() else self._previous
        if record is None:
            raise RuntimeError(
                "trace: no gradient has reached the recurrent layers yet; run the model and "
                "call loss.backward() inside the with-block, then read tr.profile"
            )
        return GradientProfile(_layers(self.modules, record))


def trace(model: nn.Module, *, cell_state: bool = True) -> Tracer:
    """Trace the exact gradient reaching every step of every recurrent layer of ``model``.

    Use as ``with trace(model) as tr: ...; loss.backward()`` then read ``tr.profile``.
    ``cell_state``: also record dL/dc_t for LSTM layers. Raises UnsupportedModel when the model
    has no recurrent layer trace can follow.
    """
    return Tracer(model, cell_state=cell_state)


def _layers(modules: list[RecurrentModule], record: _Pass) -> list[LayerProfile]:
    layers = []
    for entry in modules:
        if entry.is_cell:
            steps = record.cells.get(id(entry.module))
            if steps is not None and steps.filled:
                name = entry.path or "cell"
                g_cell = steps.per_step("c") if entry.kind == "lstm" else None
                layers.append(LayerProfile(name, entry.kind, 0, 0, steps.per_step("h"), g_cell))
            continue
        prefix = entry.path or entry.kind
        calls = record.calls.get(id(entry.module), [])
        reached = [c for c in calls if any(norms.filled for norms in c.values())]
        for call, records in enumerate(reached):  # calls no backward reached are left out
            for (layer, direction), norms in sorted(records.items()):
                if not norms.filled:
                    continue
                name = f"{prefix}.l{layer}" + (".reverse" if direction else "")
                name += f"#{call + 1}" if call else ""
                g = norms.per_step("h").detach().double().cpu().numpy()
                g_cell = None
                if norms.c is not None:
                    g_cell = norms.per_step("c").detach().double().cpu().numpy()
                layers.append(LayerProfile(name, entry.kind, layer, direction, g, g_cell))
    return layers


def _traceable(model: nn.Module) -> list[RecurrentModule]:
    """The recurrent modules of ``model``, or UnsupportedModel saying why there are none."""
    found = recurrent_modules(model)
    for entry in found:
        module, where = entry.module, entry.path or "(the model)"
        name = type(module).__name__
        if isinstance(module, torch.jit.ScriptModule):
            raise UnsupportedModel(
                f"trace: {where} ({name}) is a TorchScript module; trace needs the eager nn.Module"
            )
        current = module.__dict__.get("forward")
        if isinstance(current, FusedForward | CellForward):
            raise UnsupportedModel(
                f"trace: {where} ({name}) is already being traced; one "
                "trace() block at a time per model"
            )
        if entry.is_cell:
            continue
        if type(module).forward not in _TORCH_FORWARDS:
            raise UnsupportedModel(
                f"trace: {where} ({name}) subclasses a torch recurrent module but overrides "
                "forward; trace can follow only torch's own nn.RNN/nn.LSTM/nn.GRU forward"
            )
        if current is not None:
            raise UnsupportedModel(
                f"trace: {where} ({name}) has a forward replaced on the "
                "instance; trace can follow only torch's own forward"
            )
    if not found:
        lookalikes = [
            f"{path or '(the model)'} ({type(m).__name__})"
            for path, m in model.named_modules()
            if hasattr(m, "weight_hh")
            or any(k in type(m).__name__.lower() for k in ("rnn", "lstm", "gru"))
        ]
        message = f"trace: {type(model).__name__} has no recurrent layer trace can follow"
        if lookalikes:
            message += "; these look recurrent but are not a type it knows: " + ", ".join(
                lookalikes[:5]
            )
        raise UnsupportedModel(message + f". Supported: {_SUPPORTED}")
    return found
