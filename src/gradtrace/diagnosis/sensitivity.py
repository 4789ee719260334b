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

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from gradtrace.diagnosis.recorder import Recording
from gradtrace.diagnosis.sensitivity_units import Unit, diagonal_inputs, units

__all__ = [
    "OVER_SENSITIVE",
    "SENSITIVITY_THRESHOLD",
    "LayerSensitivity",
    "Sensitivities",
    "diagonal_inputs",
    "measure",
    "parameter_sensitivity",
]
SENSITIVITY_THRESHOLD = 10.0  # ratio at or above which a layer is over-sensitive
ROW_STEP_BUDGET = 1 << 16  # backward passes x steps spent without being asked (sensitivity=None)
OVER_SENSITIVE = "over-sensitive (curse of memory)"


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
    with torch.no_grad(), record(model, cells) as recording, diagonal_inputs(model) as layers:
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
    for unit_or_why in units(model, recording, layers, cells, examples, budget):
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


def _measure(unit: Unit, state: torch.Tensor) -> LayerSensitivity:
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
