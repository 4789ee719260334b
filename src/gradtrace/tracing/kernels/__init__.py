"""Layer kernels: one direction of one recurrent layer with hand-written BPTT that traces dL/dh_t.

Each kernel is an autograd Function over flat time-major rows (see ``tracing.plan``): forward
runs the step loop with no autograd graph inside and stores per-step factors; backward walks the
steps once, writing the exact total gradient of every h_t (and c_t) into a small ring buffer
whose per-example norms it records, and returns the gradients of the input projection, the
initial states, the weights and the input (each as one matmul or sum over all steps, as fused
kernels do; the input projection of all steps is one matmul too). ``run_layer`` calls one.
"""

from __future__ import annotations

import torch
from torch import nn

from gradtrace.tracing.kernels.common import StepNorms
from gradtrace.tracing.kernels.gru import GRULayer
from gradtrace.tracing.kernels.lstm import LSTMLayer
from gradtrace.tracing.kernels.rnn import RNNLayer
from gradtrace.tracing.plan import StepPlan

__all__ = ["GRULayer", "LSTMLayer", "RNNLayer", "StepNorms", "run_layer"]


def run_layer(
    kind: str,
    module: nn.RNNBase,
    layer: int,
    direction: int,
    x: torch.Tensor,
    h0: torch.Tensor,
    c0: torch.Tensor | None,
    plan: StepPlan,
    norms: StepNorms,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run one layer direction of a torch recurrent module on flat rows x (N, I).

    Returns (out (N, P), h_n (B, P), c_n (B, H) or None).
    """
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    w_ih = getattr(module, "weight_ih" + suffix)
    w_hh = getattr(module, "weight_hh" + suffix)
    b_ih = getattr(module, "bias_ih" + suffix) if module.bias else None
    b_hh = getattr(module, "bias_hh" + suffix) if module.bias else None
    if kind == "lstm":
        w_hr = getattr(module, "weight_hr" + suffix) if module.proj_size else None
        return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, plan, norms)
    if kind == "gru":
        out, h_n = GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, plan, norms)
        return out, h_n, None
    nonlinearity = "relu" if module.mode == "RNN_RELU" else "tanh"
    out, h_n = RNNLayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, plan, norms)
    return out, h_n, None
