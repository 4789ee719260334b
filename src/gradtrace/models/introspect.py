"""Find the recurrent modules and recurrent matrices inside any PyTorch model.

Recognised: torch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (any ``num_layers``, bidirectional,
``proj_size``), torch ``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell``, and declared cells (a class
decorated with ``gradtrace.recurrent_cell``, gradtrace's own cells among them, or a module named in
a ``cells`` mapping; see ``models.declare``). A declared cell without a ``kind`` has kind "cell": it
is traced and diagnosed through its own forward, and has no matrices here. Modules are listed in
``model.named_modules()`` order; a module reachable under two names is listed once, under its first
name.

Matrix names: ``<path>.l<k>`` for layer k of a fused module and ``<path>.l<k>.reverse`` for its
reverse direction; ``<path>`` for a cell. A module that is the model itself has the empty path; its
matrices are then named after its kind ("lstm.l0") or "cell".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from gradtrace.models.declare import CellDeclaration, declaration_of

Kind = Literal["rnn", "lstm", "gru", "cell"]
Direction = Literal["forward", "reverse"]
KINDS: tuple[str, ...] = ("rnn", "lstm", "gru")

# gate blocks stacked in weight_ih / weight_hh, in torch's order (LSTM i,f,g,o; GRU r,z,n).
GATES: dict[str, tuple[str, ...]] = {
    "rnn": ("h",),
    "lstm": ("i", "f", "g", "o"),
    "gru": ("r", "z", "n"),
}

_FUSED_KIND = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}
_TORCH_CELLS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.RNNCell, "rnn"),
    (nn.LSTMCell, "lstm"),
    (nn.GRUCell, "gru"),
)


@dataclass(frozen=True)
class RecurrentModule:
    """One recurrent module found in a model."""

    path: str  # name in model.named_modules() ("" for the model itself)
    module: nn.Module
    kind: Kind
    is_cell: bool  # True for a one-step cell (torch *Cell or gradtrace cell)
    num_layers: int
    bidirectional: bool
    hidden_size: int
    proj_size: int  # 0 when there is no projection
    activation: str | None  # "tanh", "relu", ... for rnn; None for lstm / gru
    declaration: CellDeclaration | None = None  # how to read a cell's state (cells only)

    def select(self, output: object) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(h, c or None) in a cell's output (torch cells: h, or (h, c) for LSTMCell)."""
        declared = self.declaration or CellDeclaration(kind=self.kind)
        return declared.select(output)


@dataclass(frozen=True)
class RecurrentMatrix:
    """The parameters of one recurrent layer and direction: W_hh, W_ih, biases, projection."""

    name: str  # "lstm.l0", "lstm.l1.reverse", "cell", ...
    kind: Kind
    layer: int
    direction: Direction
    activation: str | None
    weight_hh: torch.Tensor  # (gates*H, H) or (gates*H, proj_size) with a projection
    weight_ih: torch.Tensor  # (gates*H, input features of this layer)
    bias_ih: torch.Tensor | None  # (gates*H,)
    bias_hh: torch.Tensor | None  # (gates*H,)
    weight_hr: torch.Tensor | None  # (proj_size, H) for an LSTM with proj_size, else None
    hidden_size: int
    path: str
    module: nn.Module

    @property
    def bias(self) -> torch.Tensor | None:
        """Effective bias b_ih + b_hh (detached), or None without biases.

        For GRU the sum is the effective bias of the r and z blocks only: b_hn sits inside the
        reset gate product, n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
        """
        if self.bias_ih is None or self.bias_hh is None:
            return None
        return (self.bias_ih + self.bias_hh).detach()

    @property
    def gates(self) -> tuple[str, ...]:
        """Gate block names in row order of weight_hh ("h" for a plain RNN)."""
        return GATES[self.kind]

    def block(self, tensor: torch.Tensor, gate: str) -> torch.Tensor:
        """The rows of ``tensor`` (a weight or bias of this layer) that belong to ``gate``."""
        index = self.gates.index(gate)
        return tensor[index * self.hidden_size : (index + 1) * self.hidden_size]


def _torch_cell_kind(module: nn.Module) -> str | None:
    for cls, torch_kind in _TORCH_CELLS:
        if isinstance(module, cls):
            return torch_kind
    return None


def _describe(path: str, module: nn.Module, cells: Any = None) -> RecurrentModule | None:
    if isinstance(module, nn.RNNBase) and module.mode in _FUSED_KIND:
        kind = _FUSED_KIND[module.mode]
        activation = None
        if kind == "rnn":
            activation = "relu" if module.mode == "RNN_RELU" else "tanh"
        return RecurrentModule(
            path=path,
            module=module,
            kind=kind,  # type: ignore[arg-type]
            is_cell=False,
            num_layers=int(module.num_layers),
            bidirectional=bool(module.bidirectional),
            hidden_size=int(module.hidden_size),
            proj_size=int(getattr(module, "proj_size", 0) or 0),
            activation=activation,
        )
    declaration = declaration_of(module, path, cells)
    kind = _torch_cell_kind(module)
    if declaration is not None and declaration.kind is not None:
        kind = declaration.kind
    if kind is None and declaration is None:
        return None
    kind = kind or "cell"
    activation = None
    if kind == "rnn":
        activation = getattr(module, "activation", None) or getattr(module, "nonlinearity", "tanh")
    return RecurrentModule(
        path=path,
        module=module,
        kind=kind,  # type: ignore[arg-type]
        is_cell=True,
        num_layers=1,
        bidirectional=False,
        hidden_size=int(getattr(module, "hidden_size", 0) or 0),
        proj_size=0,
        activation=activation,
        declaration=declaration,
    )


def recurrent_modules(model: nn.Module, cells: Any = None) -> list[RecurrentModule]:
    """Every fused recurrent module, torch cell and declared cell in ``model``, in module order.

    ``cells``: a mapping {class | module | path: selector | None | CellDeclaration} declaring
    more cells (see ``gradtrace.models.declare``).
    """
    found = []
    for path, module in model.named_modules():
        described = _describe(path, module, cells)
        if described is not None:
            found.append(described)
    return found


def entry_matrices(entry: RecurrentModule) -> list[RecurrentMatrix]:
    """The recurrent matrices of one module found by recurrent_modules, as they are now (a
    module whose weights are set during its forward, such as a weight-dropped LSTM, has them
    only from its forward on)."""
    module = entry.module
    if entry.kind == "cell" or (entry.is_cell and not hasattr(module, "weight_hh")):
        return []  # a cell without torch's layout: diagnosed through its own forward
    if entry.is_cell:
        name = entry.path or "cell"
        return [
            RecurrentMatrix(
                name=name,
                kind=entry.kind,
                layer=0,
                direction="forward",
                activation=entry.activation,
                weight_hh=module.weight_hh,
                weight_ih=module.weight_ih,
                bias_ih=getattr(module, "bias_ih", None),
                bias_hh=getattr(module, "bias_hh", None),
                weight_hr=None,
                hidden_size=entry.hidden_size,
                path=entry.path,
                module=module,
            )
        ]
    prefix = entry.path or entry.kind
    matrices = []
    for layer in range(entry.num_layers):
        directions: tuple[Direction, ...] = (
            ("forward", "reverse") if entry.bidirectional else ("forward",)
        )
        for direction in directions:
            suffix = f"_l{layer}" + ("_reverse" if direction == "reverse" else "")
            name = f"{prefix}.l{layer}" + (".reverse" if direction == "reverse" else "")
            matrices.append(
                RecurrentMatrix(
                    name=name,
                    kind=entry.kind,
                    layer=layer,
                    direction=direction,
                    activation=entry.activation,
                    weight_hh=getattr(module, "weight_hh" + suffix),
                    weight_ih=getattr(module, "weight_ih" + suffix),
                    bias_ih=getattr(module, "bias_ih" + suffix, None),
                    bias_hh=getattr(module, "bias_hh" + suffix, None),
                    weight_hr=getattr(module, "weight_hr" + suffix, None),
                    hidden_size=entry.hidden_size,
                    path=entry.path,
                    module=module,
                )
            )
    return matrices


def recurrent_matrices(model: nn.Module, cells: Any = None) -> list[RecurrentMatrix]:
    """Every recurrent layer and direction of ``model`` with its matrices (see module docstring)."""
    return [matrix for entry in recurrent_modules(model, cells) for matrix in entry_matrices(entry)]
