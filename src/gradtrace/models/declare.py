"""Declare a module as a one-step recurrent cell, so trace, diagnose and the Monitor follow it.

A *cell* is a module called once per time step. gradtrace needs to know where the new state is
in what the cell returns; everything else it reads off the calls themselves. Two ways to say it,
the same mechanism underneath (gradtrace's own cells use the decorator):

    @gradtrace.recurrent_cell(state=lambda out: out[1])   # forward returns (h, (h, c))
    class MyLSTMCell(nn.Module): ...

    with gradtrace.trace(model, cells={IndRNNCell: None, "decoder.cell": lambda out: out[0]}):
        ...

``state(output)`` returns h, or (h, c) for a cell with two state tensors; ``None`` means the
default: the output itself when it is a tensor, (h, c) when a ``kind="lstm"`` cell returns two
tensors, else the output's first element (and (h, c) when that is a pair of tensors).

``kind`` ("rnn", "lstm", "gru") says the cell computes that textbook recurrence with torch's
parameter layout (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` in torch's gate order):
diagnose then uses closed-form Jacobians and reads its matrices. Any other cell is diagnosed
exactly through autograd on its own forward; ``state_arg`` (position or keyword of the previous
state in the cell's call, default 1, i.e. ``cell(x, state)``) says where the state goes back in.
``recurrent`` / ``inputs`` name the parameters that carry the recurrence and read the input
(for diagnose's curse-of-memory sensitivity; weight_hh / weight_ih when the cell has them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union

import torch
from torch import nn

State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]  # noqa: UP007 (runtime alias)
Selector = Callable[[Any], Any]  # output -> h or (h, c)
CellKey = Union[type[nn.Module], nn.Module, str]  # noqa: UP007
KNOWN_KINDS: tuple[str, ...] = ("rnn", "lstm", "gru")
ATTRIBUTE = "__gradtrace_cell__"

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class CellDeclaration:
    """How to read one cell: where its state is in its output and in its arguments."""

    state: Selector | None = None
    kind: str | None = None  # "rnn" | "lstm" | "gru" (torch layout) or None (any other cell)
    state_arg: int | str = 1
    recurrent: tuple[str, ...] = ()  # parameter names that carry the recurrence (W_hh, lambda)
    inputs: tuple[str, ...] = ()  # parameter names that read the input (W_ih)

    def __post_init__(self) -> None:
        from gradtrace.errors import InvalidValue

        for name in ("recurrent", "inputs"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise InvalidValue(name, value, "a tuple of parameter names")
            object.__setattr__(self, name, tuple(value))
        if bool(self.recurrent) != bool(self.inputs):
            raise InvalidValue(
                "recurrent" if not self.recurrent else "inputs",
                "()",
                "parameter names, given together with "
                + ("inputs" if not self.recurrent else "recurrent"),
            )

        if self.state is not None and not callable(self.state):
            raise InvalidValue("state", self.state, "a callable output -> h or (h, c), or None")
        if self.kind is not None and self.kind not in KNOWN_KINDS:
            raise InvalidValue("kind", self.kind, "one of rnn, lstm, gru, or None")
        ok = isinstance(self.state_arg, str) or (
            isinstance(self.state_arg, int)
            and not isinstance(self.state_arg, bool)
            and self.state_arg >= 0
        )
        if not ok:
            raise InvalidValue("state_arg", self.state_arg, "an argument position >= 0 or a name")

    def select(self, output: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(h, c or None) from a call's output; (None, None) when no tensor state is found."""
        found = self.state(output) if self.state is not None else _default_state(output, self.kind)
        if isinstance(found, torch.Tensor):
            return found, None
        if _is_pair(found):
            return found[0], found[1]
        return None, None

    def describe_output(self, output: Any) -> str:
        """A short description of an output's structure, for error messages."""
        return _structure(output)


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, torch.Tensor) for v in value)
    )


def _default_state(output: Any, kind: str | None) -> Any:
    if isinstance(output, torch.Tensor):
        return output
    if kind == "lstm" and _is_pair(output):
        return tuple(output)
    if isinstance(output, tuple | list) and output:
        return output[0]
    return None


def _structure(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor" + str(tuple(value.shape)).replace(",)", ")")
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_structure(v) for v in value) + ")"
    return type(value).__name__


def recurrent_cell(
    cls: T | None = None,
    *,
    state: Selector | None = None,
    kind: str | None = None,
    state_arg: int | str = 1,
    recurrent: tuple[str, ...] = (),
    inputs: tuple[str, ...] = (),
) -> Any:
    """Class decorator: declare a module class as a one-step recurrent cell (see module docs).

    Use bare (``@recurrent_cell``) or with arguments (``@recurrent_cell(kind="lstm")``). It only
    sets a class attribute; instances, their state_dict and pickles are unchanged.
    ``recurrent`` and ``inputs`` name the parameters that carry the recurrence and that read
    the input (``("weight_hh",)``, ``("weight_ih",)`` by default where the cell has them): the
    curse-of-memory sensitivity compares the two.
    """
    declaration = CellDeclaration(
        state=state, kind=kind, state_arg=state_arg, recurrent=recurrent, inputs=inputs
    )

    def apply(target: T) -> T:
        from gradtrace.errors import InvalidValue

        if not (isinstance(target, type) and issubclass(target, nn.Module)):
            raise InvalidValue("recurrent_cell", target, "an nn.Module subclass")
        setattr(target, ATTRIBUTE, declaration)
        return target

    return apply(cls) if cls is not None else apply


def declaration_of(
    module: nn.Module, path: str, cells: Mapping[Any, Any] | None
) -> CellDeclaration | None:
    """The declaration that applies to ``module`` at ``path``: the ``cells`` mapping first (by
    instance, then path, then class), then the class decorator; None when it is not a cell."""
    if cells:
        for key, value in cells.items():
            if key is module or (isinstance(key, str) and key == path):
                return as_declaration(value)
        for key, value in cells.items():
            if isinstance(key, type) and isinstance(module, key):
                return as_declaration(value)
    found = getattr(type(module), ATTRIBUTE, None)
    return found if isinstance(found, CellDeclaration) else None


def as_declaration(value: Any) -> CellDeclaration:
    """A ``cells`` mapping value (None, a selector or a CellDeclaration) as a CellDeclaration."""
    from gradtrace.errors import InvalidValue

    if isinstance(value, CellDeclaration):
        return value
    if value is None or callable(value):
        return CellDeclaration(state=value)
    raise InvalidValue(
        "cells", value, "None, a selector output -> h or (h, c), or a CellDeclaration"
    )


def check_cells(model: nn.Module, cells: Mapping[Any, Any] | None) -> None:
    """Validate a ``cells`` mapping against ``model``: every key must name something in it."""
    from gradtrace.errors import InvalidValue

    if cells is None:
        return
    if not isinstance(cells, Mapping):
        raise InvalidValue(
            "cells", type(cells).__name__, "a dict {class | module | path: selector}"
        )
    modules = dict(model.named_modules())
    for key, value in cells.items():
        as_declaration(value)
        if isinstance(key, str):
            if key not in modules:
                near = ", ".join(p for p in list(modules)[:8] if p)
                raise InvalidValue("cells", repr(key), f"a module path in the model (e.g. {near})")
        elif isinstance(key, type):
            if not issubclass(key, nn.Module):
                raise InvalidValue("cells", key.__name__, "an nn.Module subclass")
            if not any(isinstance(m, key) for m in modules.values()):
                raise InvalidValue("cells", key.__name__, "a class with instances in the model")
        elif isinstance(key, nn.Module):
            if not any(m is key for m in modules.values()):
                raise InvalidValue("cells", type(key).__name__, "a module inside the model")
        else:
            raise InvalidValue("cells", repr(key), "a module class, a module or a module path")
