"""Exact dynamics of the diagonal recurrences (LRU, minGRU, minLSTM, selective SSM) from their a_t.

Each of these layers computes h_t = a_t * h_{t-1} + b_t elementwise, so its state Jacobian is
diagonal, J_t = dh_t/dh_{t-1} = diag(a_t), and everything diagnose estimates for a general cell
has a closed form here, with no QR and no random frame:

- Lyapunov exponents: per state unit n, mean_t log |a_t,n|, sorted (exact at every T);
- product norms: ||J_T ... J_{T-k+1}||_2 = max_n prod_{last k steps} |a_t,n|;
- spectrum (LRU only, where a_t = lambda for every t): eigenvalues lambda, spectral radius and
  largest singular value max |lambda| (a diagonal matrix is normal).

For the LRU the state is complex; in real coordinates each lambda is a 2x2 scaled rotation with
both exponents log |lambda|, so every exponent appears twice (state size 2N). minGRU: a = 1 - z;
minLSTM: a = f'; selective SSM: a = exp(Delta A) per (channel, state) pair, input-dependent, so
the exponents are taken along the trajectory of the batch given.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gradtrace.models.frontier.lru import LRULayer
from gradtrace.models.frontier.mingru import MinGRULayer
from gradtrace.models.frontier.minlstm import MinLSTMLayer
from gradtrace.models.frontier.selective_ssm import SelectiveSSMLayer

DIAGONAL = (LRULayer, MinGRULayer, MinLSTMLayer, SelectiveSSMLayer)


def decay_logs(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """log |a_t| (B, T, n) of a diagonal layer on its input x (B, T, I), per real state unit."""
    if isinstance(layer, LRULayer):
        log_radius = -torch.exp(layer.nu_log)  # log |lambda| = -exp(nu)
        pairs = torch.repeat_interleave(log_radius, 2)  # real and imaginary coordinate
        return pairs.expand(x.shape[0], x.shape[1], -1)
    if isinstance(layer, MinGRULayer | MinLSTMLayer):
        return layer.log_coefficients(x)[0]
    if isinstance(layer, SelectiveSSMLayer):
        _, _, a, _, _ = layer.discretize(x)
        return torch.log(a).flatten(2)
    raise TypeError(f"{type(layer).__name__} is not a diagonal recurrence")


def layer_inputs(model: nn.Module, batch: Any) -> dict[str, tuple[nn.Module, torch.Tensor]]:
    """Run ``model(batch)`` once without gradients; the input every diagonal layer received."""
    found: dict[str, tuple[nn.Module, torch.Tensor]] = {}
    handles = []
    for path, module in model.named_modules():
        if isinstance(module, DIAGONAL):

            def keep(mod, args, path=path):
                found.setdefault(path, (mod, args[0].detach()))

            handles.append(module.register_forward_pre_hook(keep))
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return found


def diagonal_dynamics(model: nn.Module, batch: Any, *, examples: int = 1) -> list[Any]:
    """LayerDynamics (exact exponents and product norms) of every diagonal layer of ``model``."""
    return dynamics_from_inputs(layer_inputs(model, batch), examples=examples)


def dynamics_from_inputs(
    inputs: dict[str, tuple[nn.Module, torch.Tensor]], *, examples: int = 1
) -> list[Any]:
    """LayerDynamics of diagonal layers from the input each received ({path: (layer, x)});
    each is named as its trace names it (the layer's ``name``)."""
    from gradtrace.diagnosis.dynamics import LayerDynamics, lag_grid

    out = []
    for path, (layer, x) in inputs.items():
        with torch.no_grad():
            logs = decay_logs(layer, x[:examples]).to(torch.float64)  # (E, T, n)
        steps, size = logs.shape[1], logs.shape[2]
        exponents = logs.mean(dim=1).mean(dim=0).sort(descending=True).values
        lags = lag_grid(steps)
        tail = logs.flip(1).cumsum(1)  # (E, T, n): sum of log |a| over the last k steps
        norms = [math.exp(float(tail[:, k - 1].max(-1).values.mean())) for k in lags]
        out.append(
            LayerDynamics(
                name=getattr(layer, "name", path),
                kind="diagonal",
                layer=0,
                direction="forward",
                state_size=size,
                steps=steps,
                examples=int(logs.shape[0]),
                exponents=[float(v) for v in exponents],
                lags=list(lags),
                product_norms=norms,
                method="analytic",
            )
        )
    return out


def diagonal_spectra(model: nn.Module) -> list[Any]:
    """MatrixSpectrum of each LRU layer: eigenvalues lambda; radius = max singular = max|lambda|."""
    from gradtrace.diagnosis.spectrum import MatrixSpectrum

    found = []
    for path, module in model.named_modules():
        if isinstance(module, LRULayer):
            lam = module.eigenvalues().detach().to(torch.complex128)
            radius = float(lam.abs().max())
            found.append(
                MatrixSpectrum(
                    name=getattr(module, "name", path),
                    kind="lru",
                    layer=0,
                    direction="forward",
                    gate="lambda",
                    activation=None,
                    spectral_radius=radius,
                    max_singular=radius,
                    eigenvalues=[[float(v.real), float(v.imag)] for v in lam],
                )
            )
    return found
