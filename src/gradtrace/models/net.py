"""RecurrentNet and build_model: a stack of recurrent layers with a readout, built from a ModelSpec.

Layout: ``layers`` is a ModuleList with one recurrent module per stacked layer: a single-layer
torch nn.RNN / nn.LSTM / nn.GRU (fused backend), a gradtrace cell run by a Python step loop
(loop backend), or a frontier layer (IndRNN, expRNN, LRU, minGRU, minLSTM, selective SSM; see
``gradtrace.models.frontier``) that runs the whole sequence itself, by a scan where it can.
Layer l >= 1 reads the output of layer l - 1 after dropout; with ``residual=True`` its output is
h^l + (its input), every layer above the first (all have width H). Initial states are zeros.
Readouts: "last" is a linear map of the top layer's h_T; "all" maps every h_t, giving (B, T, O);
"attention" scores every top-layer state with s_t = v . tanh(W h_t + b), takes softmax
over t and maps the weighted sum of states.
``forward(x, state, return_state=True)`` starts each layer from a given state and returns the
last state per layer, so truncated BPTT can run a sequence in chunks.

Both backends create their parameters in the same order with the same draws, so one seed gives
the same weights; ``layers.<l>.weight_hh_l0`` (fused) is ``layers.<l>.weight_hh`` (loop), and
``load_state_dict`` accepts the other backend's names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.init import apply_init_, forget_bias_
from gradtrace.models.cells import make_cell
from gradtrace.models.spec import ModelSpec

_FUSED = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_FUSED_KEY = re.compile(r"^(layers\.\d+\.)(weight|bias)_(ih|hh)_l0$")
_LOOP_KEY = re.compile(r"^(layers\.\d+\.)(weight|bias)_(ih|hh)$")


def run_cell(cell: nn.Module, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
    """Run a gradtrace cell over x (B, T, I) from ``state`` (None = zeros).

    Returns the outputs (B, T, H) and the last state (h, or (h, c) for an LSTM). The input
    projection of every step is computed in one matmul; the cell is still called once per step,
    so forward hooks on it see every step.
    """
    projected = cell.input_projection(x)  # (B, T, G*H)
    outputs = []
    # unbind, not x[:, t]: its backward stacks all steps at once, where T selects would each
    # scatter into a zero (B, T, G*H) tensor (quadratic in T).
    for x_t, projected_t in zip(x.unbind(1), projected.unbind(1), strict=True):
        state = cell(x_t, state, input_proj=projected_t)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs, dim=1), state


def run_fused(layer: nn.RNNBase, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
    """Run a single-layer batch_first torch nn.RNN/LSTM/GRU from ``state`` (h or (h, c), (B, H))."""
    if state is None:
        out, last = layer(x)
    elif isinstance(state, tuple):
        out, last = layer(x, (state[0].unsqueeze(0), state[1].unsqueeze(0)))
    else:
        out, last = layer(x, state.unsqueeze(0))
    if isinstance(last, tuple):
        return out, (last[0].squeeze(0), last[1].squeeze(0))
    return out, last.squeeze(0)


def run_layer(layer: nn.Module, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
    """Run a frontier layer (gradtrace.models.frontier), which takes the whole sequence."""
    return layer(x, state)


class RecurrentNet(nn.Module):
    """Stacked recurrent layers and a readout; see the module docstring for the layout."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.backend = "fused" if spec.fused else "loop"
        layers = []
        for index in range(spec.num_layers):
            in_size = spec.input_size if index == 0 else spec.hidden_size
            if spec.frontier:
                from gradtrace.models.frontier import FRONTIER

                layer = FRONTIER[spec.cell](spec, in_size, index)
            elif self.backend == "fused":
                options = {"nonlinearity": spec.activation} if spec.cell == "rnn" else {}
                layer = _FUSED[spec.cell](
                    in_size, spec.hidden_size, bias=spec.bias, batch_first=True, **options
                )
            else:
                layer = make_cell(
                    spec.cell,
                    in_size,
                    spec.hidden_size,
                    activation=spec.activation,
                    leaky_slope=spec.leaky_slope,
                    bias=spec.bias,
                    layer_norm=spec.layer_norm,
                )
            layers.append(layer)
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(spec.dropout)
        if spec.readout == "attention":
            self.attention = nn.Sequential(
                nn.Linear(spec.hidden_size, spec.hidden_size),
                nn.Tanh(),
                nn.Linear(spec.hidden_size, 1, bias=False),
            )
        self.readout = nn.Linear(spec.hidden_size, spec.output_size)
        self.register_load_state_dict_pre_hook(_accept_other_backend)

    def hidden_states(
        self, x: torch.Tensor, state: list[Any] | None = None
    ) -> tuple[torch.Tensor, list[Any]]:
        """(B, T, I) -> top-layer outputs (B, T, H) (residual included) and each layer's last state.

        ``state``: None (zeros) or one entry per layer, h (B, H) or (h, c) for an LSTM (None for
        zeros); the returned states have the same form.
        """
        spec = self.spec
        if x.dim() != 3 or x.shape[-1] != spec.input_size or x.shape[1] == 0:
            raise InvalidValue(
                "x", tuple(x.shape), f"a (batch, time >= 1, {spec.input_size}) tensor"
            )
        if state is not None and len(state) != spec.num_layers:
            raise InvalidValue(
                "state", f"{len(state)} entries", f"one per layer ({spec.num_layers})"
            )
        run = run_fused if self.backend == "fused" else run_cell
        if spec.frontier:
            run = run_layer
        out, last_states = x, []
        for index, layer in enumerate(self.layers):
            # contiguous: dropout masks follow memory order, and fused outputs are transposed
            # views, so without it the two backends would draw different masks from one seed.
            inp = self.dropout(out.contiguous()) if index and spec.dropout else out
            h, last = run(layer, inp, None if state is None else state[index])  # (B, T, H)
            out = h + inp if spec.residual and index >= 1 else h
            last_states.append(last)
        return out, last_states

    def attention_weights(self, states: torch.Tensor) -> torch.Tensor:
        """(B, T, H) top-layer states -> (B, T) softmax weights of the attention readout."""
        return torch.softmax(self.attention(states).squeeze(-1), dim=1)

    def forward(
        self, x: torch.Tensor, state: list[Any] | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[Any]]:
        """(B, T, I) -> (B, O) for readout last / attention, (B, T, O) for readout all.

        With ``state`` (see hidden_states) the layers start from it instead of zeros; with
        ``return_state=True`` the result is (output, last state per layer), which lets truncated
        BPTT run a sequence in chunks (not with the attention readout, which reads every step).
        """
        if return_state and self.spec.readout == "attention":
            raise InvalidValue(
                "readout",
                "attention",
                "attention reads the whole sequence; it cannot run in chunks",
            )
        states, last = self.hidden_states(x, state)  # (B, T, H)
        if self.spec.readout == "all":
            out = self.readout(states)
        elif self.spec.readout == "attention":
            weights = self.attention_weights(states)  # (B, T)
            out = self.readout(torch.einsum("bt,bth->bh", weights, states))
        else:
            out = self.readout(states[:, -1])
        return (out, last) if return_state else out

    def with_backend(self, backend: str) -> RecurrentNet:
        """A copy of this model on another backend ("fused" or "loop") with the same weights."""
        spec = ModelSpec(**{**self.spec.model_dump(), "backend": backend})
        with torch.random.fork_rng(devices=[]):  # building draws weights; keep the caller's RNG
            other = RecurrentNet(spec)
        parameter = next(self.parameters())
        other.to(device=parameter.device, dtype=parameter.dtype)
        other.load_state_dict(self.state_dict())
        other.train(self.training)
        return other

    def extra_repr(self) -> str:
        return f"{self.spec.describe()!r}, backend={self.backend!r}"


def _accept_other_backend(module: RecurrentNet, state_dict: dict, prefix: str, *_: Any) -> None:
    """Rename the other backend's recurrent parameter names to this backend's, in place."""
    pattern, template = (
        (_LOOP_KEY, r"\1\2_\3_l0") if module.backend == "fused" else (_FUSED_KEY, r"\1\2_\3")
    )
    for key in list(state_dict):
        if key.startswith(prefix):
            renamed = pattern.sub(template, key[len(prefix) :])
            if renamed != key[len(prefix) :]:
                state_dict[prefix + renamed] = state_dict.pop(key)


def build_model(spec: ModelSpec | Mapping[str, Any]) -> RecurrentNet:
    """Build the network ``spec`` describes and apply its init and forget bias.

    Deterministic given ``torch.manual_seed``; a mapping is validated as a ModelSpec first.
    """
    if not isinstance(spec, ModelSpec):
        if not isinstance(spec, Mapping):
            raise InvalidValue(
                "spec", type(spec).__name__, "a ModelSpec or a mapping of its fields"
            )
        spec = ModelSpec(**spec)
    model = RecurrentNet(spec)
    if spec.init != "default" or spec.init_scale is not None:  # construction drew the default
        apply_init_(model, spec.init, scale=spec.init_scale)
    if spec.forget_bias is not None:
        forget_bias_(model, spec.forget_bias)
    return model
