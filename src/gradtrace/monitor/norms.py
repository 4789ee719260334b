"""Gradient norms per parameter, per layer and in total, computed with fused ops and no host sync.

One step costs one ``torch._foreach_norm`` over all gradients (per device and dtype), a stack, a
``vector_norm`` for the total (the same arithmetic as ``torch.nn.utils.get_total_norm``) and an
``index_add`` for the per-layer norms. The subnormal count reads a strided sample of at most
``sample`` entries per gradient (views, one ``cat`` and four elementwise ops over the sample), so
its cost does not grow with the model; ``sample=None`` counts every entry exactly (a few
elementwise passes over all gradients).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

# torch RNN parameter names: weight_ih_l0, bias_hh_l1_reverse, weight_hr_l0 (projections).
_RNN_PARAM = re.compile(r"^(?:weight|bias)_(?:ih|hh|hr)_l(\d+)(_reverse)?$")
MISSING = -1.0  # stands for "this parameter had no gradient on this step"


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DistributedDataParallel / DataParallel wrappers (else the model)."""
    inner = getattr(model, "module", None)
    wrapped = isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel)
    return inner if wrapped and isinstance(inner, nn.Module) else model


def layer_of(param_name: str) -> str:
    """The layer a parameter belongs to: its module path, with torch RNN layers split.

    ``lstm.weight_hh_l1`` -> ``lstm.l1``, ``lstm.bias_ih_l0_reverse`` -> ``lstm.l0.reverse``,
    ``decoder.weight`` -> ``decoder``, a top-level ``scale`` -> ``scale``.
    """
    module, _, leaf = param_name.rpartition(".")
    match = _RNN_PARAM.match(leaf)
    if match:
        suffix = f"l{match.group(1)}" + (".reverse" if match.group(2) else "")
        return f"{module}.{suffix}" if module else suffix
    return module or leaf


@dataclass(frozen=True)
class ParamIndex:
    """The monitored parameters in a fixed order, with the layer of each."""

    names: tuple[str, ...]
    params: tuple[nn.Parameter, ...]
    layers: tuple[str, ...]  # distinct layer names, in first-seen order
    layer_ids: tuple[int, ...]  # layer index of each parameter

    @classmethod
    def of(cls, model: nn.Module) -> ParamIndex:
        """Index every trainable parameter of ``model`` (wrappers like DDP are looked through)."""
        named = [(n, p) for n, p in unwrap(model).named_parameters() if p.requires_grad]
        layers: dict[str, int] = {}
        ids = [layers.setdefault(layer_of(n), len(layers)) for n, _ in named]
        return cls(
            names=tuple(n for n, _ in named),
            params=tuple(p for _, p in named),
            layers=tuple(layers),
            layer_ids=tuple(ids),
        )

    def extended(self, named: list[tuple[str, nn.Parameter]]) -> ParamIndex:
        """This index with more parameters appended (their layers after the known ones)."""
        layers = {name: i for i, name in enumerate(self.layers)}
        ids = [layers.setdefault(layer_of(n), len(layers)) for n, _ in named]
        return ParamIndex(
            names=self.names + tuple(n for n, _ in named),
            params=self.params + tuple(p for _, p in named),
            layers=tuple(layers),
            layer_ids=self.layer_ids + tuple(ids),
        )


def layer_kinds(model: nn.Module, index: ParamIndex) -> dict[str, str]:
    """The recurrent kind ("rnn" | "lstm" | "gru") of every layer that holds a W_hh."""
    from gradtrace.models.introspect import recurrent_matrices

    position = {id(p): i for i, p in enumerate(index.params)}
    kinds = {}
    for matrix in recurrent_matrices(unwrap(model)):
        i = position.get(id(matrix.weight_hh))
        if i is not None:
            kinds[index.layers[index.layer_ids[i]]] = matrix.kind
    return kinds


@dataclass
class Norms:
    """One step's norms, still on the device: nothing here has been synchronized."""

    params: torch.Tensor  # (P,) per-parameter L2 norm; MISSING where a gradient was None
    layers: torch.Tensor  # (L,) per-layer L2 norm
    total: torch.Tensor  # () global L2 norm, equal to torch.nn.utils.get_total_norm
    present: tuple[int, ...]  # indices of the parameters that had a gradient


class NormMeter:
    """Computes Norms for a ParamIndex; caches the index tensors between steps."""

    def __init__(self, index: ParamIndex) -> None:
        self.index = index
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def grads(self) -> tuple[list[torch.Tensor], tuple[int, ...]]:
        """The gradients that exist now and the indices of their parameters."""
        present = tuple(i for i, p in enumerate(self.index.params) if p.grad is not None)
        return [self.index.params[i].grad for i in present], present

    def measure(self, grads: list[torch.Tensor], present: tuple[int, ...]) -> Norms:
        """Per-parameter, per-layer and total norms of ``grads`` (no host synchronization)."""
        norms = param_norms(grads)  # (P_present,)
        total = torch.linalg.vector_norm(norms)
        full_count = len(self.index.params)
        layer_ids, positions = self._indices(present, norms.device)
        squares = norms.square()
        layers = torch.zeros(len(self.index.layers), dtype=norms.dtype, device=norms.device)
        layers = layers.index_add_(0, layer_ids, squares).sqrt_()
        if len(present) == full_count:
            full = norms
        else:
            full = torch.full((full_count,), MISSING, dtype=norms.dtype, device=norms.device)
            full[positions] = norms
        return Norms(params=full, layers=layers, total=total, present=present)

    def _indices(self, present: tuple[int, ...], device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (present, str(device))
        if key not in self._cache:
            ids = [self.index.layer_ids[i] for i in present]
            self._cache[key] = (
                torch.tensor(ids, dtype=torch.long, device=device),
                torch.tensor(present, dtype=torch.long, device=device),
            )
        return self._cache[key]


def param_norms(grads: list[torch.Tensor]) -> torch.Tensor:
    """L2 norm of each gradient, stacked (P,), fused per (device, dtype) group.

    Half-precision gradients are measured in float32 so their norms cannot overflow at 65504.
    """
    if not grads:
        return torch.zeros(0)
    first = grads[0]
    uniform = all(g.device == first.device and g.dtype == first.dtype for g in grads)
    if uniform:
        wide = torch.float32 if first.dtype in (torch.float16, torch.bfloat16) else None
        return torch.stack(torch._foreach_norm(grads, 2, dtype=wide))
    out_dtype = torch.float64 if any(g.dtype == torch.float64 for g in grads) else torch.float32
    return torch.stack(
        [torch.linalg.vector_norm(g, dtype=out_dtype).to(first.device) for g in grads]
    )


def subnormal_count(
    grads: list[torch.Tensor], *, sample: int | None
) -> tuple[torch.Tensor | None, int]:
    """Count subnormal entries (0 < |x| < finfo.tiny) in a strided sample of each gradient.

    Returns (count as a device tensor or None when there is nothing to count, sample size).
    """
    pieces: dict[torch.dtype, list[torch.Tensor]] = {}
    size = 0
    for g in grads:
        if not g.is_floating_point() or g.numel() == 0:
            continue
        flat = g.reshape(-1)
        stride = 1 if sample is None else max(1, -(-flat.numel() // sample))
        piece = flat[::stride]
        pieces.setdefault(g.dtype, []).append(piece.to(grads[0].device))
        size += piece.numel()
    counts = []
    for dtype, group in pieces.items():
        values = torch.cat(group).abs_()
        counts.append(((values < torch.finfo(dtype).tiny) & (values > 0)).sum())
    if not counts:
        return None, 0
    return (counts[0] if len(counts) == 1 else torch.stack(counts).sum()), size
