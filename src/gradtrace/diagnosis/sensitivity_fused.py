"""The curse-of-memory sensitivity of torch's fused RNN/LSTM/GRU in one batched backward pass.

Row i of dh_T/dW_hh is sum_t g_t^(i) (x) h_(t-1), with g_t^(i) = dh_(T,i)/da_t the gradient of
state unit i at the pre-activations of step t (for the GRU's candidate block, r_t * g_t), and
row i of dh_T/dW_ih is sum_t g_t^(i) (x) x_t. So all rows need only every g_t^(i): each layer
and direction is replayed in float64 by its textbook equations on a batch holding one copy of
the example per state unit, with the input projections W_ih x_t + b_ih of each copy as a
leaf; the gradient of sum_i h_(T,i) (copy i) with respect to that leaf is g_t^(i) for every
copy at once. One forward and backward of a batch of n copies replaces n backward passes,
and ||row i||^2 = ||G_i^T H||_F^2 is a batched matmul. Equal to the one-pass-per-row autograd of
``sensitivity`` (tested); layers with a projection (proj_size) take that path instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from gradtrace.models.introspect import RecurrentModule

F64 = torch.float64
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
ROW_CHUNK_ELEMENTS = 1 << 23  # float64 elements of one batched matmul's operands (64 MiB)


def fast_path(entry: RecurrentModule) -> bool:
    """Whether ``entry`` is a fused torch layer this module handles (no projection)."""
    return (
        isinstance(entry.module, nn.RNNBase)
        and entry.kind in GATES
        and not entry.is_cell
        and entry.proj_size == 0
    )


def fused_sensitivities(
    entry: RecurrentModule, x: Any, hx: Any, examples: int, flops: int | None
) -> Iterator[Any]:
    """A LayerSensitivity (or (name, why)) per layer and direction of a fused module."""
    from gradtrace.diagnosis.sensitivity import LayerSensitivity

    module, kind, size = entry.module, entry.kind, entry.hidden_size
    seq, h0, c0 = _inputs(module, x, hx, examples)
    batch, steps = seq.shape[0], seq.shape[1]
    directions = 2 if entry.bidirectional else 1
    width = size * (2 if kind == "lstm" else 1)  # state rows: h (and c)
    gates = GATES[kind] * size
    for layer in range(entry.num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            name = f"{entry.path or entry.kind}.l{layer}" + (".reverse" if direction else "")
            index = layer * directions + direction
            cost = batch * width * gates * steps * (size + seq.shape[-1])
            if flops is not None and cost > flops:
                yield (
                    name,
                    (
                        f"{batch * width} Jacobian rows over {steps} steps (about {cost:.2g} "
                        f"multiply-adds) exceed the automatic budget ({flops:.2g}); pass "
                        "sensitivity=True to measure it"
                    ),
                )
                outputs.append(_run_plain(module, kind, suffix, seq, h0, c0, index, direction))
                continue
            found, out = _one_layer(module, kind, suffix, seq, h0, c0, index, direction, width)
            rec_sq, in_sq, norm_sq = found
            rec_count = gates * size
            in_count = gates * seq.shape[-1]
            s_rec = math.sqrt(rec_sq / batch / rec_count)
            s_in = math.sqrt(in_sq / batch / in_count)
            role = "weight_hh" + suffix
            yield LayerSensitivity(
                name=name,
                recurrent=[role],
                inputs=["weight_ih" + suffix],
                recurrent_rms=s_rec,
                input_rms=s_in,
                ratio=s_rec / s_in if s_in > 0 else math.inf,
                state_norm=math.sqrt(norm_sq / batch),
                state_size=width,
                steps=steps,
                examples=batch,
                module=entry.path,
                parts={role: s_rec},
                method="autograd, one batched backward pass (a copy per state unit), float64",
            )
            outputs.append(out)
        seq = torch.cat(outputs, dim=-1)


def _inputs(module: nn.RNNBase, x, hx, examples: int):
    """(E, T, I) float64 input, h0 and c0 (L*D, E, H) or None, for the first examples."""
    if x.dim() == 2:  # unbatched
        x = x.unsqueeze(0 if module.batch_first else 1)
        if hx is not None:
            hx = tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)
    seq = x if module.batch_first else x.transpose(0, 1)
    seq = seq[:examples].to(F64)
    h0 = c0 = None
    if hx is not None:
        h0, c0 = hx if isinstance(hx, tuple) else (hx, None)
        h0 = h0[:, :examples].to(F64)
        c0 = None if c0 is None else c0[:, :examples].to(F64)
    return seq, h0, c0


def _weights(module, suffix):
    def get(name):
        value = getattr(module, name + suffix, None)
        return None if value is None else value.detach().to(F64)

    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


def _twin(module: nn.RNNBase, kind: str, suffix: str, extra: int) -> nn.RNNBase:
    """A one-layer float64 copy of one layer and direction, input weights [W_ih | I_extra]."""
    w_ih, w_hh, b_ih, b_hh = _weights(module, suffix)
    size = w_hh.shape[1]
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
    options: dict[str, Any] = {"bias": b_ih is not None, "batch_first": True}
    if kind == "rnn":
        options["nonlinearity"] = module.nonlinearity
    twin = cls(w_ih.shape[1] + extra, size, **options).to(F64)
    with torch.no_grad():
        eye = torch.eye(w_ih.shape[0], extra, dtype=F64)
        twin.weight_ih_l0.copy_(torch.cat([w_ih, eye], dim=1))
        twin.weight_hh_l0.copy_(w_hh)
        if b_ih is not None:
            twin.bias_ih_l0.copy_(b_ih)
            twin.bias_hh_l0.copy_(b_hh)
    return twin


def _state0(h0, c0, index, kind):
    if h0 is None:
        return None
    h = h0[index : index + 1]
    return (h, c0[index : index + 1]) if kind == "lstm" else h


def _run_plain(module, kind, suffix, seq, h0, c0, index, direction) -> torch.Tensor:
    """This layer's output sequence (E, T, H) in float64, without gradients."""
    twin = _twin(module, kind, suffix, 0)
    inp = seq.flip(1) if direction else seq
    with torch.no_grad():
        out = twin(inp, _state0(h0, c0, index, kind))[0]
    return out.flip(1) if direction else out


def _one_layer(module, kind, suffix, seq, h0, c0, index, direction, width):
    """(sum of squared rows of J_rec, of J_in, sum of ||h_T||^2) and the layer's outputs."""
    batch, steps, _ = seq.shape
    size = module.hidden_size
    w_ih, w_hh, b_ih, b_hh = _weights(module, suffix)
    inp = seq.flip(1) if direction else seq
    projected = inp @ w_ih.T + (0 if b_ih is None else b_ih)  # (E, T, G*H)
    # copy i of example e: a leaf per copy, so d(sum_i h_(T,i) of copy i)/d(leaf) = g^(i)
    leaf = projected.repeat_interleave(width, dim=0).requires_grad_(True)
    state0 = _state0(h0, c0, index, kind)
    h = torch.zeros(batch, size, dtype=F64) if state0 is None else _first(state0)[0]
    c = None
    if kind == "lstm":
        c = torch.zeros(batch, size, dtype=F64) if state0 is None else state0[1][0]
        c = c.repeat_interleave(width, dim=0)
    h = h.repeat_interleave(width, dim=0)
    act = torch.relu if getattr(module, "nonlinearity", "tanh") == "relu" else torch.tanh
    outs, resets = [], []
    for x_t in leaf.unbind(1):  # one stack in backward (slicing would add T full zeros)
        rec = h @ w_hh.T + (0 if b_hh is None else b_hh)
        if kind == "rnn":
            h = act(x_t + rec)
        elif kind == "lstm":
            i, f, g, o = (x_t + rec).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            xr, xz, xn = x_t.chunk(3, dim=-1)
            hr, hz, hn = rec.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            resets.append(r.detach())
        outs.append(h)
    final = torch.cat([h, c], dim=-1) if kind == "lstm" else h
    picked = final.view(batch, width, width).diagonal(dim1=1, dim2=2)  # copy i, unit i
    (grads,) = torch.autograd.grad(picked.sum(), leaf)  # (E * n, T, G*H): g_t^(i)
    sequence = torch.stack(outs, dim=1).detach()  # (E * n, T, H)
    outputs = sequence.view(batch, width, steps, size)[:, 0]  # every copy is the same
    start = torch.zeros(batch, 1, size, dtype=F64) if state0 is None else _first(state0)[0][:, None]
    h_prev = torch.cat([start, outputs[:, :-1]], dim=1)  # (E, T, H)
    rec_grads = grads
    if kind == "gru":  # the candidate's recurrent part sits inside r_t * (W_hn h + b_hn)
        rec_grads = grads.clone()
        rec_grads[..., 2 * size :] *= torch.stack(resets, dim=1)
    rec_sq = _row_squares(rec_grads, h_prev, width)
    in_sq = _row_squares(grads, inp, width)
    norm_sq = float(final.detach().view(batch, width, width)[:, 0].pow(2).sum())
    result = outputs.flip(1) if direction else outputs
    return (rec_sq, in_sq, norm_sq), result


def _first(state0):
    """h0 (and c0) of one layer as (E, H) tensors."""
    return tuple(s[0] for s in state0) if isinstance(state0, tuple) else (state0[0],)


def _row_squares(grads: torch.Tensor, sequence: torch.Tensor, width: int) -> float:
    """sum_i ||G_i^T S_e(i)||_F^2 for rows i (copies) and the sequence of their example."""
    rows, steps, gates = grads.shape
    features = sequence.shape[-1]
    chunk = max(1, ROW_CHUNK_ELEMENTS // max(1, steps * (gates + features) + gates * features))
    total = 0.0
    for start in range(0, rows, chunk):
        g = grads[start : start + chunk]
        examples = torch.arange(start, start + g.shape[0]) // width
        s = sequence[examples]  # (chunk, T, F)
        total += float(torch.bmm(g.transpose(1, 2), s).pow(2).sum())
    return total
