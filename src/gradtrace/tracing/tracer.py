"""trace(model): a context manager that records the exact gradient reaching every recurrent step.

    with gradtrace.trace(model) as tr:
        loss = criterion(model(x), y)
        loss.backward()
    profile = tr.profile

Inside the block every torch nn.RNN / nn.LSTM / nn.GRU in the model runs through gradtrace's
layer kernels (same function, same parameters; see ``fused``), every one-step cell (torch cells,
declared cells, ``cells={...}``) is observed by a forward hook on the state it returns (see
``cells``), and ``gradtrace.mark`` / ``mark_sequence`` record recurrences the model computes
inline (see ``marks``). With ``observe_only=True`` no forward is replaced at all: fused modules
run torch's own kernels and are replayed on the side from what they received and the gradients
their outputs got (see ``capture``); the hooks are then global torch module hooks, so nothing is
stored on the model. On exit (also after an exception) every hook and swapped forward is removed.

Passes: a pass is what the model computes between two backward passes. The first recurrent call
after a backward starts a new pass; ``profile`` describes the latest pass that a backward
reached. Within a pass, a fused module called k times yields layers named ``<path>.l0``,
``<path>.l0#2``, ... unless every call ran one step (a decoder called once per step): then its
calls form ONE layer, one step per call. A cell yields one step per call, in call order. Calls
that no backward reached (a validation forward without torch.no_grad(), say) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as torch_module

from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models.declare import check_cells
from gradtrace.models.introspect import RecurrentModule, recurrent_modules
from gradtrace.tracing.capture import CapturedCall, capture_call, rng_state
from gradtrace.tracing.cells import CellSteps, Reached, SequenceSteps
from gradtrace.tracing.fused import FusedForward
from gradtrace.tracing.layers import layer_profiles
from gradtrace.tracing.marks import ACTIVE
from gradtrace.tracing.profile import GradientProfile

_TORCH_FORWARDS = {nn.RNN.forward, nn.LSTM.forward, nn.GRU.forward}
_SUPPORTED = (
    "torch nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell, cells declared with "
    "@gradtrace.recurrent_cell or trace(model, cells={CellClass: selector}), and inline loops "
    "marked with gradtrace.mark(h, name) or gradtrace.mark_sequence(b, name)"
)


class _Pass:
    """What one pass recorded: fused calls, captured calls, cell steps and marks."""

    def __init__(self) -> None:
        self.calls: dict[int, list[dict]] = {}  # id(module) -> [{(layer, direction): norms}]
        self.captures: dict[int, list[CapturedCall]] = {}  # observe_only fused calls
        self.cells: dict[int, CellSteps] = {}
        self.marks: dict[str, CellSteps] = {}
        self.sequences: dict[str, SequenceSteps] = {}
        self.replayed = False
        self.flag = Reached()  # set by the step records' backward hooks

    def tensors(self) -> list[torch.Tensor]:
        """Every norm tensor this pass holds: O(T*B) numbers."""
        found = [t for steps in self.cells.values() for t in steps.tensors()]
        found += [t for steps in self.marks.values() for t in steps.tensors()]
        found += [t for steps in self.sequences.values() for t in steps.tensors()]
        for calls in self.calls.values():
            for call in calls:
                found += [t for n in call.values() for t in (n.h, n.c) if t is not None]
        return found

    def reached(self) -> bool:
        """Whether a backward pass has written any of this pass's records."""
        if self.flag.value:  # a cell, mark or sequence record was written
            return True
        if not self.calls and not self.captures:
            return False
        if any(c.reached for calls in self.captures.values() for c in calls):
            return True
        return any(n.filled for calls in self.calls.values() for c in calls for n in c.values())

    def replay(self, cell_state: bool) -> None:
        """Replay the captured fused calls (observe_only) into ``calls``, once."""
        if self.replayed:
            return
        self.replayed = True
        for key, captured in self.captures.items():
            self.calls[key] = [c.replay(cell_state=cell_state) for c in captured if c.reached]


class Tracer:
    """The context manager ``trace`` returns; ``profile`` holds the result after backward."""

    def __init__(
        self,
        model: nn.Module,
        *,
        cells: Mapping[Any, Any] | None = None,
        cell_state: bool = True,
        observe_only: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise InvalidValue("model", type(model).__name__, "a torch.nn.Module")
        for name, flag in (("cell_state", cell_state), ("observe_only", observe_only)):
            if not isinstance(flag, bool):
                raise InvalidValue(name, flag, "True or False")
        check_cells(model, cells)
        self.model = model
        self.cells = dict(cells) if cells else None
        self.cell_state = cell_state
        self.observe_only = observe_only
        self.modules = _traceable(model, self.cells)
        self._by_id = {id(entry.module): entry for entry in self.modules}
        self._installed: list[tuple[nn.Module, Any]] = []
        self._handles: list[Any] = []
        self._token: Token | None = None
        self._rng: dict[int, Any] = {}  # id(module) -> generator state before its call
        self._segment = 0
        self._pass = _Pass()
        self._previous: _Pass | None = None
        self.last_marked: torch.Tensor | None = None  # the latest h given to gradtrace.mark

    def __enter__(self) -> Tracer:
        if self._token is not None:
            raise InvalidValue("trace", "entered twice", "one with-block at a time per tracer")
        try:
            self._install()
            self._token = ACTIVE.set(self)
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()

    # -- installing and removing ---------------------------------------------------------------

    def _install(self) -> None:
        if self.observe_only:  # global hooks: nothing of gradtrace is stored on the model
            self._handles.append(torch_module.register_module_forward_pre_hook(self._global_pre))
            self._handles.append(
                torch_module.register_module_forward_hook(self._global_post, with_kwargs=True)
            )
            return
        for entry in self.modules:
            module = entry.module
            if entry.is_cell:
                self._handles.append(module.register_forward_hook(self._cell_hook(entry)))
                continue
            forward = FusedForward(
                module, entry.kind, lambda m=module: self._new_call(m), cell_state=self.cell_state
            )
            self._installed.append((module, module.__dict__.get("forward")))
            module.forward = forward
        if id(self.model) not in self._by_id:  # the model is not itself a recurrent module
            self._handles.append(self.model.register_forward_pre_hook(self._next_segment))

    def _restore(self) -> None:
        if self._token is not None:
            ACTIVE.reset(self._token)
            self._token = None
        while self._handles:
            self._handles.pop().remove()
        while self._installed:
            module, previous = self._installed.pop()
            if previous is None:
                module.__dict__.pop("forward", None)
            else:
                module.__dict__["forward"] = previous
        self._rng.clear()

    # -- hooks -----------------------------------------------------------------------------------

    def _cell_hook(self, entry: RecurrentModule) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            self._cell_output(entry, output)

        return hook

    def _cell_output(self, entry: RecurrentModule, output: Any) -> None:
        if not torch.is_grad_enabled():
            return
        h, c = entry.select(output)
        if h is None:
            where = entry.path or "(the model)"
            shape = entry.declaration.describe_output(output) if entry.declaration else "?"
            raise UnsupportedModel(
                f"trace: cell {where} ({type(entry.module).__name__}) returned {shape}; no state "
                "tensor found there: declare where it is, e.g. "
                f"trace(model, cells={{{type(entry.module).__name__}: lambda out: out[1]}}) "
                "returning h or (h, c)"
            )
        current = self._current()
        cells = current.cells
        if id(entry.module) not in cells:
            cells[id(entry.module)] = CellSteps(cell_state=self.cell_state, flag=current.flag)
        cells[id(entry.module)].add(h, c, self._segment)

    def _global_pre(self, module: nn.Module, args: Any) -> None:
        if module is self.model:
            self._segment += 1
        entry = self._by_id.get(id(module))
        if entry is not None and not entry.is_cell and torch.is_grad_enabled():
            device = next((a.device for a in args if isinstance(a, torch.Tensor)), None)
            device = device or torch.device("cpu")
            self._rng[id(module)] = rng_state(module, device)

    def _global_post(self, module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
        entry = self._by_id.get(id(module))
        if entry is None or not torch.is_grad_enabled():
            return
        if entry.is_cell:
            self._cell_output(entry, output)
            return
        call = capture_call(
            module, entry.kind, args, kwargs, self._rng.pop(id(module), None), self._segment
        )
        if call is None or not isinstance(output, tuple):
            return
        call.hook_outputs(output)
        self._current().captures.setdefault(id(module), []).append(call)

    def add_mark(self, name: str, h: torch.Tensor) -> None:
        """Record one step of the inline recurrence ``name`` (see ``gradtrace.mark``)."""
        current = self._current()
        marks = current.marks
        if name not in marks:
            marks[name] = CellSteps(cell_state=False, flag=current.flag)
        marks[name].add(h, None, self._segment)
        self.last_marked = h

    def add_sequence(self, name: str, b: torch.Tensor, time_dim: int, batch_dim: int) -> None:
        """Record every step of ``b`` as the recurrence ``name`` (see ``mark_sequence``)."""
        current = self._current()
        sequences = current.sequences
        if name not in sequences:
            sequences[name] = SequenceSteps(current.flag)
        sequences[name].add(b, time_dim, batch_dim, self._segment)

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

    # -- results ---------------------------------------------------------------------------------

    @property
    def stored_bytes(self) -> int:
        """Bytes of tensor data the tracer holds: the norms of the latest two passes, O(T*B)."""
        passes = [self._pass] if self._previous is None else [self._pass, self._previous]
        return sum(t.numel() * t.element_size() for p in passes for t in p.tensors())

    @property
    def profile(self) -> GradientProfile:
        """The GradientProfile of the latest pass that a backward reached.

        With ``observe_only`` the fused calls are replayed on first access: read it before the
        optimizer changes the parameters (the Monitor does).
        """
        record = self._pass if self._pass.reached() else self._previous
        if record is None and not self.modules:
            raise UnsupportedModel(no_layers_message(self.model))
        if record is None:
            raise RuntimeError(
                "trace: no gradient has reached the recurrent layers yet; run the model and "
                "call loss.backward() inside the with-block, then read tr.profile"
            )
        record.replay(self.cell_state)
        return GradientProfile(layer_profiles(self.modules, record))


def trace(
    model: nn.Module,
    *,
    cells: Mapping[Any, Any] | None = None,
    cell_state: bool = True,
    observe_only: bool = False,
) -> Tracer:
    """Trace the exact gradient reaching every step of every recurrent layer of ``model``.

    Use as ``with trace(model) as tr: ...; loss.backward()`` then read ``tr.profile``.

    Args:
        model: any nn.Module (a container of several models too).
        cells: more one-step cells to follow, {class | module | module path: selector}, where
            ``selector(output)`` returns h or (h, c) (None: the output itself or its first
            element); see ``gradtrace.recurrent_cell`` for declaring a class once.
        cell_state: also record dL/dc_t for LSTM layers and cells returning (h, c).
        observe_only: leave every forward unchanged (fused kernels keep running) and replay
            fused modules on the side when ``profile`` is read; training stays bit-identical.

    Raises UnsupportedModel when the model has nothing trace can follow (and marks are not
    used), or holds TorchScript modules.
    """
    return Tracer(model, cells=cells, cell_state=cell_state, observe_only=observe_only)


def _script_modules(model: nn.Module) -> list[str]:
    """Paths of the TorchScript modules in ``model`` that are not inside another one."""
    found: list[str] = []
    for path, module in model.named_modules():
        if isinstance(module, torch.jit.ScriptModule) and not any(
            path.startswith(p + ".") or p == "" for p in found
        ):
            found.append(path)
    return found


def _traceable(model: nn.Module, cells: Mapping[Any, Any] | None) -> list[RecurrentModule]:
    """The recurrent modules of ``model``, or UnsupportedModel saying why it cannot be traced.

    A model with no recurrent module is accepted (its recurrences may be marked inline); the
    profile then says so if nothing was marked either.
    """
    scripted = _script_modules(model)
    if scripted:
        where = ", ".join(
            f"{p or '(the model)'} ({type(model.get_submodule(p)).__name__})" for p in scripted[:3]
        )
        raise UnsupportedModel(
            f"trace: {where} is TorchScript (torch.jit.script/trace); trace follows eager "
            "modules only: trace the model before scripting it, or the eager original"
        )
    found = recurrent_modules(model, cells)
    for entry in found:
        module, where = entry.module, entry.path or "(the model)"
        name = type(module).__name__
        current = module.__dict__.get("forward")
        if isinstance(current, FusedForward):
            raise UnsupportedModel(
                f"trace: {where} ({name}) is already being traced; one "
                "trace() block at a time per model"
            )
        if entry.is_cell:
            continue
        if type(module).forward not in _TORCH_FORWARDS:
            raise UnsupportedModel(
                f"trace: {where} ({name}) subclasses a torch recurrent module but overrides "
                "forward; trace can follow only torch's own nn.RNN/nn.LSTM/nn.GRU forward "
                f"(or declare it per step: trace(model, cells={{{name}: selector}}))"
            )
        if current is not None:
            raise UnsupportedModel(
                f"trace: {where} ({name}) has a forward replaced on the "
                "instance; trace can follow only torch's own forward"
            )
    return found


def no_layers_message(model: nn.Module) -> str:
    """Why a profile is empty: what looks recurrent in ``model`` and how to declare it."""
    lookalikes = [
        f"{path or '(the model)'} ({type(m).__name__})"
        for path, m in model.named_modules()
        if hasattr(m, "weight_hh")
        or any(k in type(m).__name__.lower() for k in ("rnn", "lstm", "gru", "cell"))
    ]
    message = f"trace: no recurrent step of {type(model).__name__} was recorded"
    if lookalikes:
        message += "; these look recurrent but are not declared: " + ", ".join(lookalikes[:5])
    return message + f". Supported: {_SUPPORTED}"
