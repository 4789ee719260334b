"""Pascanu et al. (2013)'s vanishing-gradient regularizer for single-layer simple RNNs.

Omega = sum_k ( ||dE/dh_{k+1} dh_{k+1}/dh_k|| / ||dE/dh_{k+1}|| - 1 )^2 (On the difficulty of
training recurrent neural networks, eq. 9), averaged over the batch. It asks every step's
Jacobian to keep the norm of the error signal. As in the paper, dE/dh_{k+1} is held constant
when Omega is differentiated, so the regularizer moves the weights, not the loss's signal.

For h_{k+1} = phi(W_hh h_k + W_ih x_{k+1} + b), dh_{k+1}/dh_k = diag(phi'(a_{k+1})) W_hh, so
the row vector dE/dh_{k+1} dh_{k+1}/dh_k is (g_{k+1} * phi'(a_{k+1})) W_hh: one matmul per step.
The recurrence runs as an explicit step loop over the fused layer's parameters (the same
function as torch's kernel), so the states h_k are tensors whose total gradients dE/dh_k one
`torch.autograd.grad` call returns.
"""

from __future__ import annotations

import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.tasks import Task

ACTIVATIONS = ("tanh", "relu")  # the simple RNNs torch's fused kernel runs
TINY = 1e-12  # steps whose error signal is exactly zero carry no ratio


def check_regularizable(model_spec, train_spec) -> None:
    """Raise InvalidValue unless Omega can be computed for this model (see module docstring)."""
    reasons = []
    if model_spec.cell != "rnn" or model_spec.activation not in ACTIVATIONS:
        reasons.append("cell 'rnn' with activation " + ", ".join(ACTIVATIONS))
    if model_spec.num_layers != 1 or model_spec.layer_norm or not model_spec.fused:
        reasons.append("one fused layer (no layer norm)")
    if model_spec.readout not in ("last", "all"):
        reasons.append("readout 'last' or 'all'")
    if train_spec.tbptt is not None:
        reasons.append("full backpropagation (tbptt None)")
    if reasons:
        raise InvalidValue(
            "vanishing_reg", train_spec.vanishing_reg, "only with " + "; ".join(reasons)
        )


def unrolled(model: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The layer's states h_1..h_T and pre-activations a_1..a_T, each (B, H), as a step loop."""
    layer, spec = model.layers[0], model.spec
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    drive = x @ w_ih.T  # (B, T, H)
    if spec.bias:
        drive = drive + layer.bias_ih_l0 + layer.bias_hh_l0
    h = x.new_zeros(x.shape[0], w_hh.shape[0])
    states, pre = [], []
    for t in range(x.shape[1]):
        a = drive[:, t] + h @ w_hh.T
        h = _phi(spec, a)
        states.append(h)
        pre.append(a)
    return states, pre


def omega(
    model: nn.Module, states: list[torch.Tensor], pre: list[torch.Tensor], grads: list[torch.Tensor]
) -> torch.Tensor:
    """Omega from the states, pre-activations and (constant) error signals dE/dh_k."""
    w_hh = model.layers[0].weight_hh_l0
    total = w_hh.new_zeros(())
    for k in range(len(states) - 1):
        g = grads[k + 1].detach()  # dE/dh_{k+1}, held constant
        back = (g * _dphi(model.spec, pre[k + 1], states[k + 1])) @ w_hh  # (B, H)
        norm = g.norm(dim=1)
        kept = norm > TINY
        if kept.any():
            ratio = back.norm(dim=1)[kept] / norm[kept]
            total = total + ((ratio - 1) ** 2).mean()
    return total


def regularized_backward(
    model: nn.Module, task: Task, x: torch.Tensor, y: torch.Tensor, weight: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Accumulate d(loss + weight * Omega)/d(params) into ``.grad``; return (loss, Omega)."""
    states, pre = unrolled(model, x)
    seq = torch.stack(states, dim=1)  # (B, T, H)
    out = model.readout(seq) if model.spec.readout == "all" else model.readout(seq[:, -1])
    loss = task.loss(out, y)
    grads = torch.autograd.grad(loss, states, retain_graph=True)
    reg = omega(model, states, pre, list(grads))
    (loss + weight * reg).backward()
    return loss.detach(), reg.detach()


def _phi(spec, a: torch.Tensor) -> torch.Tensor:
    return torch.tanh(a) if spec.activation == "tanh" else torch.relu(a)


def _dphi(spec, a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return 1 - h * h if spec.activation == "tanh" else (a > 0).to(a.dtype)
