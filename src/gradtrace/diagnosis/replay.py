"""Replay each recurrent layer in float64 on the inputs it actually got: states and gates.

A fused nn.RNN/LSTM/GRU is replayed layer by layer and direction by direction from the input and
initial state it received (no dropout between layers). A cell is replayed step by step from the
inputs and states it was called with, so whatever the model does between steps is respected.
Arrays are kept in processing order: for a reverse direction step 0 is the last time step.
The batch is cut to the first ``batch`` examples, which bounds memory (see ``health_batch``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gradtrace.diagnosis.recorder import CellCall, Recording
from gradtrace.models.introspect import (
    RecurrentMatrix,
    RecurrentModule,
    recurrent_matrices,
    recurrent_modules,
)

F64 = torch.float64
ELEMENT_BUDGET = 1 << 20  # float64 entries per replayed array (8 MiB)


@dataclass
class LayerRun:
    """One layer and direction replayed on its actual inputs (float64, processing order)."""

    matrix: RecurrentMatrix
    pre_x: torch.Tensor  # (B, T, G*H) input part of the pre-activations, b_ih included
    pre_h: torch.Tensor  # (B, T, G*H) recurrent part, b_hh included
    h_prev: torch.Tensor  # (B, T, P) hidden state entering each step (P = H without projection)
    c_prev: torch.Tensor | None  # (B, T, H) LSTM cell state entering each step
    c: torch.Tensor | None  # (B, T, H) LSTM cell state after each step
    activation: Callable[[torch.Tensor], torch.Tensor] | None  # rnn only, float64
    exact: bool  # True when the analytic step equations reproduce this layer
    cell: nn.Module | None = None  # the cell itself, for layers the equations do not cover
    x: torch.Tensor | None = None  # (B, T, I) cell inputs (cells only)
    input_proj: torch.Tensor | None = None  # (B, T, G*H) captured input projections (cells only)

    @property
    def name(self) -> str:
        return self.matrix.name

    @property
    def kind(self) -> str:
        return self.matrix.kind

    @property
    def steps(self) -> int:
        return int(self.h_prev.shape[1])

    @property
    def finite(self) -> bool:
        """Whether the replayed trajectory holds only finite numbers."""
        arrays = (self.pre_x, self.pre_h, self.h_prev, self.c_prev, self.c)
        return all(bool(torch.isfinite(a).all()) for a in arrays if a is not None)

    @property
    def state_size(self) -> int:
        """Size of the recurrent state: P for rnn/gru, P + H for LSTM (h and c)."""
        size = int(self.h_prev.shape[-1])
        return size + (int(self.c_prev.shape[-1]) if self.c_prev is not None else 0)


def health_batch(batch: int, steps: int, width: int) -> int:
    """How many examples to replay so that a (b, T, width) float64 array stays within budget."""
    return max(1, min(batch, ELEMENT_BUDGET // max(1, steps * width)))


def activation_fn(name: str | None, module: nn.Module | None = None) -> Callable:
    """The float64 activation of an RNN layer by name (slopes read from the cell)."""
    if name == "tanh":
        return torch.tanh
    if name == "sigmoid":
        return torch.sigmoid
    if name == "relu":
        return torch.relu
    if name == "leaky_relu":
        slope = float(getattr(module, "leaky_slope", 0.01))
        return lambda a: F.leaky_relu(a, slope)
    if name == "prelu" and module is not None and hasattr(module, "slope"):
        slope = module.slope.detach().to(F64)  # (H,): one slope per unit, the last dim of a
        return lambda a: torch.where(a >= 0, a, a * slope.to(a.device))
    fn = getattr(module, "nonlinearity_fn", None)
    if fn is None:
        raise ValueError(f"unknown RNN activation {name!r}")
    return lambda a: fn(a.to(module.weight_hh.dtype)).to(F64)


def step(kind: str, pre_x, pre_h, h, c, act, weight_hr):
    """One analytic step from the two pre-activation parts -> (h_t, c_t or None)."""
    if kind == "rnn":
        return act(pre_x + pre_h), None
    if kind == "lstm":
        i, f, g, o = (pre_x + pre_h).chunk(4, dim=-1)
        c_t = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_t = torch.sigmoid(o) * torch.tanh(c_t)
        return (h_t if weight_hr is None else h_t @ weight_hr.T), c_t
    x_r, x_z, x_n = pre_x.chunk(3, dim=-1)
    h_r, h_z, h_n = pre_h.chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1.0 - z) * n + z * h, None


def _weights(m: RecurrentMatrix, device) -> tuple:
    def cast(t):
        return None if t is None else t.detach().to(device, F64)

    return cast(m.weight_ih), cast(m.weight_hh), cast(m.bias_ih), cast(m.bias_hh), cast(m.weight_hr)


def _replay_sequence(m: RecurrentMatrix, seq, h0, c0) -> tuple[LayerRun, torch.Tensor]:
    """Run one fused layer/direction over seq (B, T, I) in processing order -> (run, h (B,T,P)).

    States and pre-activations are written into time-major buffers (no per-step allocations);
    each step is the same arithmetic as ``step``.
    """
    w_ih, w_hh, b_ih, b_hh, w_hr = _weights(m, seq.device)
    act = activation_fn(m.activation) if m.kind == "rnn" else None
    lstm = m.kind == "lstm"
    pre_x = F.linear(seq, w_ih, b_ih).transpose(0, 1).contiguous()  # (T, B, G*H)
    steps, batch, gh = pre_x.shape
    pre_h = pre_x.new_empty(steps, batch, gh)
    hs = pre_x.new_empty(steps + 1, batch, h0.shape[-1])  # hs[t] enters step t, hs[T] = h_T
    hs[0] = h0
    cs = None
    if lstm:
        cs = pre_x.new_empty(steps + 1, batch, c0.shape[-1])
        cs[0] = c0
    w_t = w_hh.t().contiguous()  # (P, G*H)
    xs, hps, h_rows = pre_x.unbind(0), pre_h.unbind(0), hs.unbind(0)
    if lstm:
        _lstm_steps(xs, hps, h_rows, cs.unbind(0), w_t, b_hh, w_hr)
    else:
        for t in range(steps):
            ph = _recurrent(h_rows[t], w_t, b_hh, hps[t])
            h, _ = step(m.kind, xs[t], ph, h_rows[t], None, act, None)
            h_rows[t + 1].copy_(h)

    def batch_major(a: torch.Tensor) -> torch.Tensor:
        return a.transpose(0, 1).contiguous()

    run = LayerRun(
        matrix=m,
        pre_x=batch_major(pre_x),
        pre_h=batch_major(pre_h),
        h_prev=batch_major(hs[:-1]),
        c_prev=batch_major(cs[:-1]) if lstm else None,
        c=batch_major(cs[1:]) if lstm else None,
        activation=act,
        exact=True,
    )
    return run, batch_major(hs[1:])


def _recurrent(h, w_t, bias, out) -> torch.Tensor:
    """out = h @ w_t + bias (as F.linear computes it)."""
    if bias is None:
        return torch.mm(h, w_t, out=out)
    return torch.addmm(bias, h, w_t, out=out)


def _lstm_steps(xs, hps, h_rows, c_rows, w_t, b_hh, w_hr) -> None:
    """The LSTM recurrence of ``step`` over per-step views, writing pre_h, h and c in place."""
    hidden = c_rows[0].shape[-1]
    pre = xs[0].new_empty(xs[0].shape)  # (B, 4H) i, f, g, o
    gates = torch.empty_like(pre)
    i, f, g, o = gates.split(hidden, dim=-1)
    tc = torch.empty_like(c_rows[0])
    raw = torch.empty_like(c_rows[0]) if w_hr is not None else None
    for t in range(len(xs)):
        ph = _recurrent(h_rows[t], w_t, b_hh, hps[t])
        torch.add(xs[t], ph, out=pre)
        torch.sigmoid(pre, out=gates)
        torch.tanh(pre[:, 2 * hidden : 3 * hidden], out=g)
        c = torch.mul(f, c_rows[t], out=c_rows[t + 1])
        c.addcmul_(i, g)
        torch.tanh(c, out=tc)
        if w_hr is None:
            torch.mul(o, tc, out=h_rows[t + 1])
        else:
            torch.mm(torch.mul(o, tc, out=raw), w_hr.t(), out=h_rows[t + 1])


def _replay_fused(module: nn.RNNBase, matrices, x, hx, batch: int) -> list[LayerRun]:
    if x.dim() == 2:  # unbatched (T, I)
        x = x.unsqueeze(0 if module.batch_first else 1)
        hx = None if hx is None else _unsqueeze_state(hx)
    if not module.batch_first:
        x = x.transpose(0, 1)
    x = x[:batch].to(F64)  # (B, T, I)
    h0, c0 = (hx if isinstance(hx, tuple) else (hx, None)) if hx is not None else (None, None)
    directions = 2 if module.bidirectional else 1
    out_size = module.proj_size or module.hidden_size
    runs = []
    for layer in range(module.num_layers):
        outputs = []
        for d in range(directions):
            m = matrices[(layer, "reverse" if d else "forward")]
            index = layer * directions + d
            h = x.new_zeros(x.shape[0], out_size) if h0 is None else h0[index, :batch].to(F64)
            c = None
            if m.kind == "lstm":
                c = x.new_zeros(x.shape[0], m.hidden_size) if c0 is None else c0[index, :batch]
                c = c.to(F64)
            seq = x.flip(1) if d else x
            run, out = _replay_sequence(m, seq, h, c)
            runs.append(run)
            outputs.append(out.flip(1) if d else out)
        x = torch.cat(outputs, dim=-1)
    return runs


def _unsqueeze_state(hx):
    if isinstance(hx, tuple):
        return tuple(h.unsqueeze(1) for h in hx)
    return hx.unsqueeze(1)


def _stack_states(calls: list[CellCall], kind: str, batch: int):
    hs, cs = [], []
    for call in calls:
        state = call.state
        if state is None:
            out = calls[0].output
            h_like = out[0] if isinstance(out, tuple) else out
            zero = torch.zeros_like(h_like[:batch], dtype=F64)
            state = (zero, zero) if kind == "lstm" else zero
        if kind == "lstm":
            hs.append(state[0][:batch].to(F64))
            cs.append(state[1][:batch].to(F64))
        else:
            hs.append(state[:batch].to(F64))
    return torch.stack(hs, 1), (torch.stack(cs, 1) if kind == "lstm" else None)


def _replay_cell(m: RecurrentMatrix, calls: list[CellCall], batch: int) -> LayerRun:
    cell = m.module
    x = torch.stack([c.x[:batch] for c in calls], 1).to(F64) if calls[0].x is not None else None
    h_prev, c_prev = _stack_states(calls, m.kind, batch)
    proj = None
    if calls[0].input_proj is not None:
        proj = torch.stack([c.input_proj[:batch] for c in calls], 1).to(F64)
    layer_norm = bool(getattr(cell, "layer_norm", False))
    w_ih, w_hh, b_ih, b_hh, _ = _weights(m, h_prev.device)
    if layer_norm:  # the cell's own projections (normalised), in the cell's dtype
        dtype = cell.weight_hh.dtype
        with torch.no_grad():
            pre_x = proj if proj is not None else cell.input_projection(x.to(dtype)).to(F64)
            pre_h = cell.hidden_projection(h_prev.to(dtype)).to(F64)
    else:
        pre_x = F.linear(x, w_ih, b_ih) if x is not None else proj
        pre_h = F.linear(h_prev, w_hh, b_hh)
    act = activation_fn(m.activation, cell) if m.kind == "rnn" else None
    outputs = [c.output for c in calls]
    if m.kind == "lstm":
        h_out = torch.stack([o[0][:batch] for o in outputs], 1).to(F64)
        c_out = torch.stack([o[1][:batch] for o in outputs], 1).to(F64)
    else:
        h_out, c_out = torch.stack([o[:batch] for o in outputs], 1).to(F64), None
    h_eq, c_eq = step(m.kind, pre_x, pre_h, h_prev, c_prev, act, None)
    exact = not layer_norm and _close(h_eq, h_out) and (c_out is None or _close(c_eq, c_out))
    return LayerRun(
        matrix=m,
        pre_x=pre_x,
        pre_h=pre_h,
        h_prev=h_prev,
        c_prev=c_prev,
        c=c_out,
        activation=act,
        exact=exact,
        cell=cell,
        x=x,
        input_proj=proj,
    )


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    scale = float(b.abs().max()) if b.numel() else 0.0
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5 * max(1.0, scale)))


def replay(
    model: nn.Module, recording: Recording, *, batch: int | None = None, cells=None
) -> list[LayerRun]:
    """Every recorded layer and direction of ``model`` replayed in float64.

    Each module is replayed on its first examples, as many as ``health_batch`` allows (and at
    most ``batch``), the same examples for every layer of the module.
    """
    return replay_found(
        recurrent_modules(model, cells), recurrent_matrices(model, cells), recording, batch=batch
    )


def replay_found(
    entries: list[RecurrentModule],
    matrices: list[RecurrentMatrix],
    recording: Recording,
    *,
    batch: int | None = None,
) -> list[LayerRun]:
    """`replay` of the modules and matrices found in a model (recurrent_modules/_matrices).

    Reads only the recording and the matrices' tensors: with no layer-norm cell among
    ``entries`` it calls no module, so it may run while the model is in use elsewhere.
    """
    runs = []
    for entry in entries:
        own = [m for m in matrices if m.module is entry.module and m.path == entry.path]
        if entry.is_cell and not own:
            continue  # a declared cell without torch's layout: see diagnosis.generic
        width = len(own[0].gates) * entry.hidden_size if own else 1
        if entry.is_cell:
            calls = recording.cells.get(entry.path)
            if calls:
                calls = [_batched_call(c) for c in calls]
                limit = health_batch(_batch_of(calls[0].output), len(calls), width)
                runs.append(_replay_cell(own[0], calls, min(limit, batch or limit)))
            continue
        if entry.path not in recording.fused:
            continue
        x, hx = recording.fused[entry.path]
        module = entry.module
        batch_dim, time_dim = (0, 1) if module.batch_first else (1, 0)
        size, steps = (1, x.shape[0]) if x.dim() == 2 else (x.shape[batch_dim], x.shape[time_dim])
        limit = health_batch(size, steps, width)
        by_key = {(m.layer, m.direction): m for m in own}
        runs.extend(_replay_fused(module, by_key, x, hx, min(limit, batch or limit)))
    return runs


def _batch_of(output) -> int:
    h = output[0] if isinstance(output, tuple) else output
    return int(h.shape[0])


def _batched_call(call: CellCall) -> CellCall:
    """Give an unbatched call (x (I,), state (H,)) a batch dimension of one."""
    if call.x is None or call.x.dim() != 1:
        return call

    def lift(value):
        if value is None:
            return None
        if isinstance(value, tuple):
            return tuple(v.unsqueeze(0) for v in value)
        return value.unsqueeze(0)

    return CellCall(lift(call.x), lift(call.state), lift(call.input_proj), lift(call.output))
