"""Jacobians ds_t/ds_{t-1} of a replayed layer's state map along its actual trajectory (float64).

The state s is h for rnn and gru and (h, c) for LSTM (size P + H). For plain cells every
Jacobian has the factored form

    rows of h:  J_h = W_hr [ D(d) (for gru) + sum_gates diag(a_gate) W_gate | diag(u) ]
    rows of c:  J_c =        [ sum_gates diag(b_gate) W_gate               | diag(f) ]

with W_gate the gate blocks of W_hh and elementwise coefficients read off the trajectory:
  rnn   a = phi'(pre)
  lstm  a_i = u g i', a_f = u c_{t-1} f', a_g = u i g', a_o = tanh(c_t) o',  u = o tanh'(c_t)
        b_i = g i',   b_f = c_{t-1} f',   b_g = i g',   b_o = 0;  dh/dc = diag(u f), dc/dc = diag(f)
  gru   d = z,  a_r = (1 - z)(1 - n^2) W_n h r',  a_z = (h_{t-1} - n) z',  a_n = (1 - z)(1 - n^2) r
(f', i', o', z', r' are sigmoid derivatives, g' = 1 - g^2). So J^T Q costs one (G*H, P) matmul
per step, without forming J (computed as Q^T J, see rows_times). Cells the closed forms do not
cover (layer norm) are differentiated with autograd (one backward pass per state coordinate),
one chunk of steps at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import torch
from torch.func import functional_call

from gradtrace.diagnosis.replay import F64, LayerRun

CHUNK_ELEMENTS = 1 << 22  # float64 entries per chunk of dense Jacobians (32 MiB)


@dataclass
class Factors:
    """The coefficients of the factored Jacobians of one example, for T steps."""

    kind: str
    w_hh: torch.Tensor  # (G*H, P)
    w_hr: torch.Tensor | None  # (P, H) LSTM projection
    a: torch.Tensor  # (T, G*H) coefficients of the W_gate blocks in the h rows
    b: torch.Tensor | None  # (T, G*H) LSTM: coefficients of the W_gate blocks in the c rows
    d: torch.Tensor | None  # (T, P) gru: diagonal of dh/dh
    u_f: torch.Tensor | None  # (T, H) LSTM: diagonal of dh/dc (before W_hr)
    f: torch.Tensor | None  # (T, H) LSTM: diagonal of dc/dc

    @property
    def steps(self) -> int:
        return int(self.a.shape[0])

    @property
    def gates(self) -> int:
        return self.a.shape[1] // self.hidden

    @property
    def hidden(self) -> int:
        return int(self.w_hh.shape[0] // {"rnn": 1, "lstm": 4, "gru": 3}[self.kind])

    @cached_property
    def _steps(self) -> dict:
        """Per-step coefficient rows for broadcasting against (k, n) row vectors (made once)."""
        steps, gates, hidden = self.steps, self.gates, self.hidden
        views = {
            "w": self.w_hh.contiguous(),  # (G*H, P): the right operand of rows @ W
            "a": self.a.reshape(steps, gates, hidden).unbind(0),
        }
        if self.b is not None:
            views["b"] = self.b.reshape(steps, gates, hidden).unbind(0)
        for name in ("d", "u_f", "f"):
            value = getattr(self, name)
            if value is not None:
                views[name] = value.unbind(0)
        if self.w_hr is not None:
            views["w_hr"] = self.w_hr.contiguous()  # (P, H)
        return views

    def rows_times(
        self, t: int, rows: torch.Tensor, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """rows @ J_t for k row vectors ``rows`` (k, n), without forming J_t (into ``out``).

        The transpose of J_t^T Q for Q = rows^T: row vectors keep every element-wise operation
        on contiguous rows of length H and the matmul's right operand W_hh as stored.
        """
        views, k = self._steps, rows.shape[0]
        if out is None:
            out = torch.empty_like(rows)
        if self.kind != "lstm":
            mixed = torch.mul(views["a"][t], rows.unsqueeze(1))  # (k, G, H)
            torch.mm(mixed.view(k, -1), views["w"], out=out)  # (k, P)
            return out if self.d is None else out.addcmul_(views["d"][t], rows)
        size = self.w_hh.shape[1]
        r_h, r_c = rows[:, :size], rows[:, size:]
        if self.w_hr is not None:
            r_h = r_h @ views["w_hr"]  # (k, H)
        r_h3, r_c3 = r_h.unsqueeze(1), r_c.unsqueeze(1)
        mixed = torch.mul(views["a"][t], r_h3).addcmul_(views["b"][t], r_c3)  # (k, 4, H)
        torch.mm(mixed.view(k, -1), views["w"], out=out[:, :size])  # (k, P)
        torch.mul(views["u_f"][t], r_h, out=out[:, size:]).addcmul_(views["f"][t], r_c)  # (k, H)
        return out

    def dense(self, steps: slice | None = None) -> torch.Tensor:
        """The Jacobians (T', n, n) of the selected steps as dense matrices."""
        steps = steps or slice(None)
        a = self.a[steps]
        hidden, gates = self.hidden, self.gates
        blocks = self.w_hh.reshape(gates, hidden, -1)  # (G, H, P)

        def mix(coef: torch.Tensor) -> torch.Tensor:  # (T', G*H) -> (T', H, P)
            return torch.einsum("tgh,ghp->thp", coef.reshape(-1, gates, hidden), blocks)

        top = mix(a)
        if self.kind != "lstm":
            return top if self.d is None else top + torch.diag_embed(self.d[steps])
        dh_dc = torch.diag_embed(self.u_f[steps])  # (T', H, H)
        if self.w_hr is not None:
            top, dh_dc = self.w_hr @ top, self.w_hr @ dh_dc
        bottom = torch.cat([mix(self.b[steps]), torch.diag_embed(self.f[steps])], dim=-1)
        return torch.cat([torch.cat([top, dh_dc], dim=-1), bottom], dim=-2)


def factors(run: LayerRun, *, example: int = 0) -> Factors:
    """The Jacobian coefficients of one example of a layer the closed forms cover."""
    if not run.exact:
        raise ValueError(f"{run.name}: no closed-form Jacobians (use dense_chunks)")
    pre_x, pre_h = run.pre_x[example], run.pre_h[example]  # (T, G*H)
    w_hh = run.matrix.weight_hh.detach().to(pre_x.device, F64)
    if run.kind == "rnn":
        a = activation_derivative(run, pre_x + pre_h)
        return Factors("rnn", w_hh, None, a, None, None, None, None)
    if run.kind == "gru":
        h_prev = run.h_prev[example]
        x_r, x_z, x_n = pre_x.chunk(3, dim=-1)
        h_r, h_z, h_n = pre_h.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        dn = (1 - z) * (1 - n * n)
        a = torch.cat([dn * h_n * r * (1 - r), (h_prev - n) * z * (1 - z), dn * r], dim=-1)
        return Factors("gru", w_hh, None, a, None, z, None, None)
    hidden = run.matrix.hidden_size
    pre = pre_x + pre_h
    i, f, o = (torch.sigmoid(pre[:, k * hidden : (k + 1) * hidden]) for k in (0, 1, 3))
    g = torch.tanh(pre[:, 2 * hidden : 3 * hidden])
    c_prev, c = run.c_prev[example], run.c[example]
    tc = torch.tanh(c)
    u = o * (1 - tc * tc)
    b = torch.cat([g * i * (1 - i), c_prev * f * (1 - f), i * (1 - g * g), torch.zeros_like(o)], -1)
    a = b * u.repeat(1, 4)
    a[:, 3 * hidden :] = tc * o * (1 - o)
    w_hr = run.matrix.weight_hr
    w_hr = None if w_hr is None else w_hr.detach().to(pre.device, F64)
    return Factors("lstm", w_hh, w_hr, a, b, None, u * f, f)


def jacobians(run: LayerRun, *, example: int = 0, steps: slice | None = None) -> torch.Tensor:
    """Dense Jacobians ds_t/ds_{t-1} (T, n, n) of one example for the steps selected."""
    steps = steps or slice(None)
    if run.exact:
        return factors(run, example=example).dense(steps)
    return _autograd_jacobians(run, example, steps)


def dense_chunks(run: LayerRun, *, example: int = 0) -> Iterator[torch.Tensor]:
    """Dense Jacobians in chunks (c, n, n), last step first (each chunk reversed too)."""
    size = max(1, CHUNK_ELEMENTS // max(1, run.state_size**2))
    for start in reversed(range(0, run.steps, size)):
        block = jacobians(run, example=example, steps=slice(start, min(start + size, run.steps)))
        yield block.flip(0)


def activation_derivative(run: LayerRun, pre: torch.Tensor) -> torch.Tensor:
    """phi'(a) elementwise for the activation of an rnn layer (autograd, any elementwise phi)."""
    with torch.enable_grad():
        a = pre.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(run.activation(a).sum(), a)
    return grad


def _autograd_jacobians(run: LayerRun, example: int, steps: slice) -> torch.Tensor:
    """Jacobians by reverse mode through the cell itself, with float64 parameters."""
    cell = run.cell
    params = {k: v.detach().to(F64) for k, v in cell.named_parameters()}
    params.update({k: v.detach().to(F64) for k, v in cell.named_buffers()})
    x = None if run.x is None else run.x[example, steps]  # (T, I)
    proj = None if run.input_proj is None else run.input_proj[example, steps]
    h_prev = run.h_prev[example, steps]  # (T, P)
    lstm = run.c_prev is not None
    state = torch.cat([h_prev, run.c_prev[example, steps]], -1) if lstm else h_prev
    hidden = h_prev.shape[-1]

    def step_map(s: torch.Tensor) -> torch.Tensor:  # (T, n) -> (T, n), rows independent
        prev = (s[:, :hidden], s[:, hidden:]) if lstm else s
        kwargs = {} if proj is None else {"input_proj": proj}
        out = functional_call(cell, params, (x, prev), kwargs)
        return torch.cat(out, -1) if lstm else out

    # one backward pass per output coordinate j gives row j of every J_t at once (rows of the
    # batch are independent); plain autograd avoids torch.func.vmap's seconds-long first call.
    with torch.enable_grad():
        s = state.detach().requires_grad_(True)
        out = step_map(s)  # (T, n)
        rows = [
            torch.autograd.grad(out[:, j].sum(), s, retain_graph=True)[0]
            for j in range(out.shape[-1])
        ]
    return torch.stack(rows, dim=1)  # (T, n, n): [t, j, i] = d s_t[j] / d s_{t-1}[i]
