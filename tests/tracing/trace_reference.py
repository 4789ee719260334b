"""Brute-force reference for trace: the recurrences re-written with plain tensor ops in float64.

Every h_t (and c_t) of every layer, direction and example is its own tensor with retain_grad(),
so after backward its .grad is the total gradient reaching it. Packed sequences are run one
example at a time at its own length, so no packing logic is shared with the code under test.
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence


def weights(module, layer: int, direction: int) -> dict:
    """The parameters of one layer direction of a torch fused module, as float64 tensors."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
    found = {n: getattr(module, n + suffix, None) for n in names}
    return {
        n: None if w is None else w.detach().double().requires_grad_() for n, w in found.items()
    }


def cell_step(kind: str, w: dict, x, h, c=None, *, act: str = "tanh"):
    """One step of torch's cell equations from the weight dict w (same keys as ``weights``)."""
    gi = x @ w["weight_ih"].t()
    gh = h @ w["weight_hh"].t()
    if w["bias_ih"] is not None:
        gi, gh = gi + w["bias_ih"], gh + w["bias_hh"]
    if kind == "rnn":
        return (torch.relu if act == "relu" else torch.tanh)(gi + gh), None
    if kind == "gru":
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, None
    i, f, g, o = (gi + gh).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    if w.get("weight_hr") is not None:
        h = h @ w["weight_hr"].t()
    return h, c


def run_fused(module, kind: str, x, h0=None, c0=None, lengths=None):
    """Reference run of a torch nn.RNN/LSTM/GRU on time-major padded x (T, B, I), float64.

    Returns (out (T, B, D*P) zero-padded, h_n (L*D, B, P), c_n or None, states) where
    states[(layer, direction)] = (hs, cs): hs[t][j] is h_t of example j (a retained tensor).
    """
    steps, batch = x.shape[:2]
    lengths = [steps] * batch if lengths is None else list(lengths)
    dirs = 2 if module.bidirectional else 1
    width = (module.proj_size or module.hidden_size) if kind == "lstm" else module.hidden_size
    act = "relu" if getattr(module, "nonlinearity", "tanh") == "relu" else "tanh"
    states, h_n, c_n = {}, [], []
    layer_in = [[x[t, j].double() for t in range(lengths[j])] for j in range(batch)]
    for layer in range(module.num_layers):
        outs = [[[] for _ in range(lengths[j])] for j in range(batch)]
        for d in range(dirs):
            w, index = weights(module, layer, d), layer * dirs + d
            hs = [[None] * batch for _ in range(steps)]
            cs = [[None] * batch for _ in range(steps)]
            for j in range(batch):
                h = torch.zeros(width, dtype=torch.float64) if h0 is None else h0[index, j]
                c = torch.zeros(module.hidden_size, dtype=torch.float64)
                c = c if c0 is None else c0[index, j]
                order = range(lengths[j] - 1, -1, -1) if d else range(lengths[j])
                for t in order:
                    h, c = cell_step(kind, w, layer_in[j][t], h, c, act=act)
                    h.retain_grad()
                    hs[t][j] = h
                    if kind == "lstm":
                        c.retain_grad()
                        cs[t][j] = c
                    outs[j][t].append(h)
                h_n.append((index, j, h))
                c_n.append((index, j, c))
            states[(layer, d)] = (hs, cs)
        layer_in = [[torch.cat(o) for o in outs[j]] for j in range(batch)]
    pad = torch.zeros(dirs * width, dtype=torch.float64)
    rows = [[layer_in[j][t] if t < lengths[j] else pad for j in range(batch)] for t in range(steps)]
    out = torch.stack([torch.stack(row) for row in rows])  # (T, B, D*P)
    c_last = _gather(c_n, module, batch) if kind == "lstm" else None
    return out, _gather(h_n, module, batch), c_last, states


def _gather(entries, module, batch):
    dirs = 2 if module.bidirectional else 1
    rows = [[None] * batch for _ in range(module.num_layers * dirs)]
    for index, j, tensor in entries:
        rows[index][j] = tensor
    return torch.stack([torch.stack(row) for row in rows])


def step_norms(states: dict, key, *, cell: bool = False) -> torch.Tensor:
    """(T,) mean over the examples present at each step of ||grad of h_t|| (or c_t)."""
    hs, cs = states[key]
    store = cs if cell else hs
    means = []
    for row in store:
        norms = [torch.linalg.vector_norm(s.grad) for s in row if s is not None]
        means.append(torch.stack(norms).mean())
    return torch.stack(means)


def padded(output):
    """A fused module's output as a time-major padded tensor (T, B, F)."""
    if isinstance(output, PackedSequence):
        return pad_packed_sequence(output)[0]
    return output


def loss_of(out, h_n, c_n=None):
    """A fixed nonlinear loss of the outputs and final states (same on both sides)."""
    shape = out.shape
    weights_out = torch.linspace(-1.0, 1.5, out.numel(), dtype=out.dtype).view(shape).sin()
    loss = (weights_out * out).sum() + 0.25 * (out**2).sum()
    weights_h = torch.linspace(0.5, -0.7, h_n.numel(), dtype=h_n.dtype).view(h_n.shape)
    loss = loss + (weights_h * h_n).sum() + 0.1 * (h_n**3).sum()
    if c_n is not None:
        weights_c = torch.linspace(0.9, -0.2, c_n.numel(), dtype=c_n.dtype).view(c_n.shape)
        loss = loss + 0.3 * (weights_c * c_n).sum()
    return loss
