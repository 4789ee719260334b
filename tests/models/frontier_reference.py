"""Brute-force step loops for the frontier cells, written from the papers' equations.

Each takes a layer (for its parameters only) and x (B, T, I) and returns (outputs (B, T, H),
states [h_1, ..., h_T]) with every state retained, so tests can read dL/dh_t from autograd on
plain tensor ops: no scan, no gradtrace.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _retain(h: torch.Tensor) -> torch.Tensor:
    if h.requires_grad:
        h.retain_grad()
    return h


def indrnn(layer, x):
    """h_t = relu(W x_t + b + clamp(u) h_{t-1}) (Li et al. 2018)."""
    cell = layer.cell
    u = cell.u.clamp(-cell.u_max, cell.u_max)
    h, states = torch.zeros(x.shape[0], cell.hidden_size, dtype=x.dtype), []
    for t in range(x.shape[1]):
        h = _retain(torch.relu(x[:, t] @ cell.input.weight.T + cell.input.bias + u * h))
        states.append(h)
    return torch.stack(states, 1), states


def exprnn(layer, x):
    """h_t = modrelu(V x_t + B h_{t-1}), B orthogonal (Lezcano-Casado & Martinez-Rubio 2019)."""
    cell = layer.cell
    B = cell.recurrent.weight
    h, states = torch.zeros(x.shape[0], cell.hidden_size, dtype=x.dtype), []
    for t in range(x.shape[1]):
        z = x[:, t] @ cell.input.weight.T + h @ B.T
        if cell.activation == "tanh":
            h = torch.tanh(z + cell.bias)
        else:
            h = torch.sign(z) * torch.relu(z.abs() + cell.bias)
        states.append(_retain(h))
    return torch.stack(states, 1), states


def lru(layer, x):
    """lambda = exp(-exp(nu) + i exp(theta)); h_t = lambda h + gamma B v_t; y = Re(C h) + D v."""
    u = layer.encoder(x)
    v = layer.norm(u)
    lam = torch.exp(-torch.exp(layer.nu_log) + 1j * torch.exp(layer.theta_log))
    gamma = torch.exp(layer.gamma_log)
    B = torch.complex(layer.B_re, layer.B_im)
    C = torch.complex(layer.C_re, layer.C_im)
    h = torch.zeros(x.shape[0], layer.state_size, dtype=B.dtype)
    states, ys = [], []
    for t in range(x.shape[1]):
        h = _retain(lam * h + gamma * (v[:, t].to(B.dtype) @ B.T))
        states.append(h)
        ys.append((h @ C.T).real + layer.D * v[:, t])
    y = torch.stack(ys, 1)
    w1, w2 = layer.glu(F.gelu(y)).chunk(2, dim=-1)
    return u + w1 * torch.sigmoid(w2), states


def _g(pre):
    return torch.where(pre >= 0, pre + 0.5, torch.sigmoid(pre))


def mingru(layer, x):
    """z = sigmoid(W_z x), h~ = g(W_h x), h_t = (1 - z) h_{t-1} + z h~ (Feng et al. 2024)."""
    k, pre = (x @ layer.linear.weight.T + layer.linear.bias).chunk(2, dim=-1)
    z, cand = torch.sigmoid(k), _g(pre)
    h, states = torch.zeros(x.shape[0], layer.hidden_size, dtype=x.dtype), []
    for t in range(x.shape[1]):
        h = _retain((1 - z[:, t]) * h + z[:, t] * cand[:, t])
        states.append(h)
    return torch.stack(states, 1), states


def minlstm(layer, x):
    """f' = f / (f + i), i' = i / (f + i), h_t = f' h_{t-1} + i' g(W_h x) (Feng et al. 2024)."""
    k_f, k_i, pre = (x @ layer.linear.weight.T + layer.linear.bias).chunk(3, dim=-1)
    f, i, cand = torch.sigmoid(k_f), torch.sigmoid(k_i), _g(pre)
    h, states = torch.zeros(x.shape[0], layer.hidden_size, dtype=x.dtype), []
    for t in range(x.shape[1]):
        h = _retain(f[:, t] / (f[:, t] + i[:, t]) * h + i[:, t] / (f[:, t] + i[:, t]) * cand[:, t])
        states.append(h)
    return torch.stack(states, 1), states


def selective_ssm(layer, u):
    """Mamba's selective scan, one step and one (channel, state) pair at a time in tensor form."""
    x, z = (u @ layer.in_proj.weight.T + layer.in_proj.bias).chunk(2, dim=-1)
    x = x * torch.sigmoid(x)
    proj = x @ layer.x_proj.weight.T
    R, N = layer.rank, layer.state_size
    delta = F.softplus(proj[..., :R] @ layer.dt_proj.weight.T + layer.dt_proj.bias)
    Bt, Ct = proj[..., R : R + N], proj[..., R + N :]
    A = -torch.exp(layer.A_log)
    h = torch.zeros(u.shape[0], layer.hidden_size, N, dtype=u.dtype)
    states, ys = [], []
    for t in range(u.shape[1]):
        d = delta[:, t, :, None]  # (B, H, 1)
        h = _retain(torch.exp(d * A) * h + d * Bt[:, t, None, :] * x[:, t, :, None])
        states.append(h)
        ys.append((h * Ct[:, t, None, :]).sum(-1) + layer.D * x[:, t])
    y = torch.stack(ys, 1)
    return (y * z * torch.sigmoid(z)) @ layer.out_proj.weight.T + layer.out_proj.bias, states


REFERENCES = {
    "indrnn": indrnn,
    "exprnn": exprnn,
    "lru": lru,
    "mingru": mingru,
    "minlstm": minlstm,
    "selective_ssm": selective_ssm,
}
