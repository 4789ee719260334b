"""LSTM layer direction with hand-written backpropagation through time that records ||dL/dh_t||.

Gate blocks are rotated to [o, i, f, g] (torch stores i, f, g, o). One sigmoid covers all four
gates: the g rows of the weights are doubled and g = tanh(a) = 2*sigmoid(2a) - 1 (a strided
tanh costs several times a sigmoid on CPU). One buffer S (N, 6H) holds, per row, first (in
columns 2H..6H) the input projection, then the step's gate values, then (each written over a
value no longer needed) the factors [tanh(c)*o', g*i', c_prev*f', i*(1-g^2), f,
o*(1-tanh(c)^2)] (x' = x(1-x), the sigmoid derivative), and in backward, in place,
[dA_o, dA_i, dA_f, dA_g, dc*f]. Backward is four operations per step:

    dc   = dc_next*f_next + dh*Q                                 (one addcmul)
    dA_o = dh*F_o;  [dA_i, dA_f, dA_g, dc*f] = dc*F[:, H:5H]     (two multiplies, in place)
    dh'  = dout' + dA @ W_hh                                     (one addmm)

where dh is the total gradient reaching h_t (recurrence plus direct path) and dc the total
gradient reaching c_t: exactly the quantities traced. The weight, bias and input gradients are
one matmul (or sum) over all steps. With proj_size, h_t = W_hr (o*tanh(c_t)) and dh is the
gradient of that projected h_t.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from gradtrace.tracing.kernels.common import (
    StepNorms,
    carry_back_,
    input_grads,
    project_,
    rotate,
    sigmoid_bw,
    tanh_bw,
)
from gradtrace.tracing.plan import NormRing


def _gate_scale(like: torch.Tensor, hid: int) -> torch.Tensor:
    """(4H, 1) ones with 2 on the g block: sigmoid(2a) gives tanh(a) = 2*sigmoid(2a) - 1."""
    scale = like.new_ones(4 * hid, 1)
    scale[3 * hid :] = 2.0
    return scale


def _chunk_steps(plan, hid: int) -> int:
    """Steps whose backward factors are computed together (one step for packed sequences)."""
    if not plan.uniform:
        return 1
    return max(1, min(plan.steps, (1 << 14) // (plan.batch * hid)))


def _factors_(cols, tc, g, c_prev) -> None:
    """Write the backward factors of a run of steps over their gate values in S (see above).

    cols: the six (R, H) column blocks of S for the run's rows; tc = tanh(c), g and c_prev
    (R, H) in the same row order.
    """
    f_o, f_i, o, i, f, s_g = cols
    sigmoid_bw(tc, o, grad_input=f_o)
    sigmoid_bw(g, i, grad_input=f_i)
    tanh_bw(o, tc, grad_input=s_g)  # Q
    sigmoid_bw(c_prev, f, grad_input=o)  # F_f
    tanh_bw(i, g, grad_input=i)  # F_g


class LSTMLayer(torch.autograd.Function):
    """(x (N, I), h0 (B, P), c0 (B, H), weights in torch's layout) -> (out (N, P), h_n, c_n)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, plan, norms: StepNorms):
        hid, proj, batch = c0.shape[1], w_hr is not None, plan.batch
        wi, wh = rotate(w_ih, 4, 1), rotate(w_hh, 4, 1)
        bias = None if b_ih is None else rotate(b_ih + b_hh, 4, 1)
        # one sigmoid covers all four gates: the g rows are doubled, g = 2*sigmoid(2a) - 1
        scale = _gate_scale(x, hid)
        s = x.new_empty(plan.total, 6 * hid)  # (N, 6H), see the module docstring
        project_(s[:, 2 * hid :], x, wi * scale, None if bias is None else bias * scale[:, 0])
        out = x.new_empty(plan.total, h0.shape[1])
        hraw = x.new_empty(plan.total, hid) if proj else None
        h_n, c_n = torch.empty_like(h0), torch.empty_like(c0)
        # states of one chunk of k steps in flat (time) order: c has one slot more, for the
        # c_prev of the chunk's first step (slot 0 forward, slot k reverse)
        k = _chunk_steps(plan, hid)
        c_buf = x.new_empty((k + 1) * batch, hid)
        tc_buf, g_buf = x.new_empty(k * batch, hid), x.new_empty(k * batch, hid)
        c_slots, tc_slots, g_slots = c_buf.split(batch), tc_buf.split(batch), g_buf.split(batch)
        minus_one = x.new_full((batch, hid), -1.0)
        gates = [plan.split(s[:, j * hid : (j + 1) * hid]) for j in range(2, 6)]  # o, i, f, g
        pre, outs = plan.split(s[:, 2 * hid :]), plan.split(out)
        hraws = plan.split(hraw) if proj else None
        wt = (wh * scale).t()
        wrt = w_hr.t() if proj else None
        sizes, offsets, order, forward = plan.sizes, plan.offsets, plan.order, not plan.reverse
        n = sizes[order[0]]
        h, last = h0[:n], None  # last: slot of the latest c
        for start in range(0, len(order), k):
            steps = order[start : start + k]
            lo, m = min(steps), len(steps)
            first = 0 if forward else m  # slot of the c_prev of the chunk's first step
            if last is None:
                c_slots[first][:n].copy_(c0[:n])
            else:
                c_slots[first][:n].copy_(c_slots[last][:n])
            for t in steps:
                j = t - lo
                back, now = (j, j + 1) if forward else (j + 1, j)  # slots of c_prev, c
                if sizes[t] != n:  # packed: examples end (forward) or start (reverse) here
                    c_now, size = c_slots[back], sizes[t]
                    if size < n:
                        h_n[size:n], c_n[size:n] = h[size:n], c_now[size:n]
                        h = h[:size]
                    else:
                        h = torch.cat([h, h0[n:size]])
                        c_now[n:size] = c0[n:size]
                    n = size
                tc, g, c_prev, c, m1 = (
                    tc_slots[j],
                    g_slots[j],
                    c_slots[back],
                    c_slots[now],
                    minus_one,
                )
                if n != batch:
                    tc, g, c_prev, c, m1 = tc[:n], g[:n], c_prev[:n], c[:n], m1[:n]
                o, i, f, s_g = (col[t] for col in gates)
                pre[t].addmm_(h, wt).sigmoid_()
                torch.add(m1, s_g, alpha=2.0, out=g)
                torch.mul(f, c_prev, out=c)
                c.addcmul_(i, g)
                torch.add(c, c, out=tc).sigmoid_()  # tanh(c) = 2*sigmoid(2c) - 1, as g
                torch.add(m1, tc, alpha=2.0, out=tc)
                if proj:
                    torch.mul(o, tc, out=hraws[t])
                    h = torch.mm(hraws[t], wrt, out=outs[t])
                else:
                    h = torch.mul(o, tc, out=outs[t])
            last = m if forward else 0
            rows = offsets[lo + m - 1] + sizes[lo + m - 1] - offsets[lo]
            cols = s[offsets[lo] : offsets[lo] + rows].split(hid, dim=1)
            c_prev = c_buf[(0 if forward else batch) :][:rows]
            _factors_(cols, tc_buf[:rows], g_buf[:rows], c_prev)
        h_n[:n] = h
        c_n[:n] = c_slots[last][:n]
        ctx.save_for_backward(s, out, hraw, x, h0, wi, wh, w_hr)
        ctx.plan, ctx.norms = plan, norms
        return out, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        s, out, hraw, x, h0, wi, wh, w_hr = ctx.saved_tensors
        plan, norms, needs = ctx.plan, ctx.norms, ctx.needs_input_grad
        hid, proj = s.shape[1] // 6, w_hr is not None
        ring_h = NormRing(plan, d_out.shape[1], s, norms.h)
        ring_c = NormRing(plan, hid, s, norms.c)
        d_h0, d_c0 = torch.zeros_like(d_hn), torch.zeros_like(d_cn)
        dc_in = s.new_empty(plan.batch, hid)
        grad_w_hr = torch.zeros_like(w_hr) if proj else None
        d_pres, dcs_out = plan.split(s[:, : 4 * hid]), plan.split(s[:, 4 * hid : 5 * hid])
        f_o, qs = plan.split(s[:, :hid]), plan.split(s[:, 5 * hid :])
        f_rest = plan.split(s.view(-1, 6, hid)[:, 1:5])  # (n, 4, H) per step
        douts = plan.split(d_out)
        hraws = plan.split(hraw) if proj else None
        sizes, after = plan.sizes, None  # after: the step processed right after t
        for t in reversed(plan.order):
            n, dh = sizes[t], ring_h.slots[t]
            if after is None:
                torch.add(douts[t], d_hn[:n], out=dh)
                dcs = d_cn[:n]
            elif sizes[after] == n:
                torch.addmm(douts[t], d_pres[after], wh, out=dh)
                dcs = dcs_out[after]
            else:
                rec = torch.mm(d_pres[after], wh)
                carry_back_(rec, n, out=dh, final=d_hn, initial=d_h0, direct=douts[t])
                dcs = carry_back_(dcs_out[after], n, out=dc_in[:n], final=d_cn, initial=d_c0)
            if proj:
                grad_w_hr.addmm_(dh.t(), hraws[t])
                dh = dh @ w_hr  # gradient of o*tanh(c_t), before the projection
            dc = torch.addcmul(dcs, dh, qs[t], out=ring_c.slots[t])
            f_o[t].mul_(dh)  # -> dA_o
            f_rest[t].mul_(dc.unsqueeze(1))  # -> dA_i, dA_f, dA_g, dc*f
            ring_h.done(t)
            ring_c.done(t)
            after = t
        first = plan.order[0]
        n = sizes[first]
        d_h0[:n] = torch.mm(d_pres[first], wh)
        d_c0[:n] = dcs_out[first]
        norms.filled = True
        d_pre = s[:, : 4 * hid]  # (N, 4H) gradient of the rotated pre-activations
        grad_x, grad_wi = input_grads(d_pre, x, wi, (needs[0], needs[3]))
        grad_wh = grad_b = None
        if needs[4]:
            grad_wh = torch.zeros_like(wh)
            plan.weight_grad_(grad_wh, d_pre, out, h0)
            grad_wh = rotate(grad_wh, 4, -1)
        if needs[5] or needs[6]:
            grad_b = rotate(d_pre.sum(dim=0), 4, -1)
        return (
            grad_x,
            d_h0,
            d_c0,
            rotate(grad_wi, 4, -1),
            grad_wh,
            grad_b,
            None if grad_b is None else grad_b.clone(),
            grad_w_hr,
            None,
            None,
        )
