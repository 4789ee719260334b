"""LSTM layer direction with hand-written backpropagation through time that records ||dL/dh_t||.

Gate blocks are rotated to [o, i, f, g] (torch stores i, f, g, o), so one sigmoid covers o, i
and f. Forward runs a few steps at a time (a chunk: about 2^17 gate values): the chunk's input
projection is one matmul into a small gate buffer, each step is seven operations on fixed views
of it, and at the chunk's end its backward factors go into one buffer S (N, 6H) in one
operation each: [tanh(c)*o', g*i', c_prev*f', i*(1-g^2), f, o*(1-tanh(c)^2)] (x' = x(1-x), the
sigmoid derivative). Backward overwrites S in place with [dA_o, dA_i, dA_f, dA_g, dc*f] and is
four operations per step:

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
    chunk_steps,
    input_grads,
    project_,
    rotate,
    sigmoid_bw,
    tanh_bw,
)
from gradtrace.tracing.kernels.rescale import Scale, scaled_grads
from gradtrace.tracing.plan import NormRing


def _factors_(cols, gates, tc, c_prev) -> None:
    """Write the backward factors of a chunk's rows into S's six (R, H) column blocks ``cols``.

    gates: the chunk's (R, H) blocks [o, i, f, g]; tc = tanh(c) and c_prev (R, H), same rows.
    """
    o, i, f, g = gates
    sigmoid_bw(tc, o, grad_input=cols[0])  # F_o
    sigmoid_bw(g, i, grad_input=cols[1])  # F_i
    sigmoid_bw(c_prev, f, grad_input=cols[2])  # F_f
    tanh_bw(i, g, grad_input=cols[3])  # F_g
    cols[4].copy_(f)
    tanh_bw(o, tc, grad_input=cols[5])  # Q


class LSTMLayer(torch.autograd.Function):
    """(x (N, I), h0 (B, P), c0 (B, H), weights in torch's layout) -> (out (N, P), h_n, c_n)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, plan, norms: StepNorms):
        hid, width, proj, batch = c0.shape[1], h0.shape[1], w_hr is not None, plan.batch
        wi, wh = rotate(w_ih, 4, 1), rotate(w_hh, 4, 1)
        bias = None if b_ih is None else rotate(b_ih + b_hh, 4, 1)
        wt = wh.t().contiguous()  # (P, 4H): a row-major right operand is the faster matmul
        wrt = w_hr.t() if proj else None
        s = x.new_empty(plan.total, 6 * hid)  # (N, 6H) backward factors, see the docstring
        out = x.new_empty(plan.total, width)
        hraw = x.new_empty(plan.total, hid) if proj else None
        h_n, c_n = torch.empty_like(h0), torch.empty_like(c0)
        # one chunk of k steps in flat (time) order; c has one slot more, for the c_prev of
        # the chunk's first step (slot 0 forward, slot k reverse)
        k = chunk_steps(plan, 4 * hid)
        g_buf = x.new_empty(k * batch, 4 * hid)
        c_buf, tc_buf = x.new_empty((k + 1) * batch, hid), x.new_empty(k * batch, hid)
        h_buf = x.new_empty(k * batch, width)
        r_buf = x.new_empty(k * batch, hid) if proj else None
        c_slots = c_buf.view(k + 1, batch, hid).unbind(0)
        tc_slots, h_slots = tc_buf.view(k, batch, hid).unbind(0), h_buf.view(k, batch, -1).unbind(0)
        r_slots = r_buf.view(k, batch, hid).unbind(0) if proj else None
        # per slot: (gates, [o, i, f], o, i, f, g) views, made by a few unbind calls
        g_steps = g_buf.view(k, batch, 4 * hid)
        blocks = g_steps.view(k, batch, 4, hid).unbind(2)  # o, i, f, g: (k, B, H) each
        views = list(
            zip(
                g_steps.unbind(0),
                g_steps[:, :, : 3 * hid].unbind(0),
                *(block.unbind(0) for block in blocks),
                strict=True,
            )
        )
        sizes, offsets, order, forward = plan.sizes, plan.offsets, plan.order, not plan.reverse
        n = sizes[order[0]]
        h, last = h0[:n], None  # last: slot of the latest c
        for start in range(0, len(order), k):
            steps = order[start : start + k]
            lo, m = min(steps), len(steps)
            r0, rows = offsets[lo], offsets[lo + m - 1] + sizes[lo + m - 1] - offsets[lo]
            project_(g_buf[:rows], x[r0 : r0 + rows], wi, bias)
            first = 0 if forward else m  # slot of the c_prev of the chunk's first step
            c_slots[first][:n].copy_(c0[:n] if last is None else c_slots[last][:n])
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
                gates, sig, o, i, f, g = views[j]
                c_prev, c, tc, h_out = c_slots[back], c_slots[now], tc_slots[j], h_slots[j]
                if n != batch:
                    gates, sig, o, i, f, g = (v[:n] for v in views[j])
                    c_prev, c, tc, h_out = c_prev[:n], c[:n], tc[:n], h_out[:n]
                gates.addmm_(h, wt)
                sig.sigmoid_()
                g.tanh_()
                torch.mul(f, c_prev, out=c)
                c.addcmul_(i, g)
                torch.tanh(c, out=tc)
                if proj:
                    r_out = r_slots[j] if n == batch else r_slots[j][:n]
                    torch.mul(o, tc, out=r_out)
                    h = torch.mm(r_out, wrt, out=h_out)
                else:
                    h = torch.mul(o, tc, out=h_out)
            last = m if forward else 0
            out[r0 : r0 + rows] = h_buf[:rows]
            if proj:
                hraw[r0 : r0 + rows] = r_buf[:rows]
            c_prev = c_buf[(0 if forward else batch) :][:rows]
            cols = s[r0 : r0 + rows].view(rows, 6, hid).unbind(1)
            _factors_(cols, g_buf[:rows].view(rows, 4, hid).unbind(1), tc_buf[:rows], c_prev)
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
        link, norms.direct, direct = norms.direct, None, None
        if link is not None:  # the layer above was rescaled: take its exact, scaled gradient
            d_out, direct = link.scaled_for(d_out)
        douts = plan.split(d_out)
        hraws = plan.split(hraw) if proj else None
        dc3 = ring_c.slots3()  # dc slots as (n, 1, H)
        sizes, after = plan.sizes, None  # after: the step processed right after t
        scale = Scale(plan, d_out, direct)  # carried gradients are 2^s times the true ones
        for t in reversed(plan.order):
            n, dh = sizes[t], ring_h.slots[t]
            if after is None:
                torch.add(douts[t], d_hn[:n], out=dh)
                dcs = d_cn[:n]
            elif sizes[after] == n:
                beta, alpha = scale.direct(t, d_pres[after], dcs_out[after])
                torch.addmm(douts[t], d_pres[after], wh, beta=beta, alpha=alpha, out=dh)
                dcs = dcs_out[after] if alpha == 1.0 else dcs_out[after] * alpha
            else:
                rec = torch.mm(d_pres[after], wh)
                carry_back_(rec, n, out=dh, final=d_hn, initial=d_h0, direct=douts[t])
                dcs = carry_back_(dcs_out[after], n, out=dc_in[:n], final=d_cn, initial=d_c0)
            if proj:
                grad_w_hr.add_(torch.mm(dh.t(), hraws[t]), alpha=2.0**-scale.s)
                dh = dh @ w_hr  # gradient of o*tanh(c_t), before the projection
            torch.addcmul(dcs, dh, qs[t], out=ring_c.slots[t])
            scale.check(t, *((ring_h.slots[t], dh) if proj else (dh,)), ring_c.slots[t])
            f_o[t].mul_(dh)  # -> dA_o
            f_rest[t].mul_(dc3[t])  # -> dA_i, dA_f, dA_g, dc*f
            ring_h.done(t)
            ring_c.done(t)
            after = t
        first = plan.order[0]
        n, alpha = sizes[first], 2.0 ** -scale.exps[first]
        d_h0[:n] = torch.mm(d_pres[first], wh).mul_(alpha)
        d_c0[:n] = dcs_out[first] * alpha
        scale.unscale_norms(norms)
        norms.filled = True
        d_pre = s[:, : 4 * hid]  # (N, 4H) gradient of the rotated pre-activations
        grad_wh = grad_b = None
        if scale.used:
            grad_wh = torch.zeros_like(wh) if needs[4] else None
            grad_x, grad_wi, grad_b, _ = scaled_grads(
                scale, d_pre, x, wi, out, h0, grad_wh, (needs[0], needs[3], needs[5] or needs[6])
            )
            grad_wh = None if grad_wh is None else rotate(grad_wh, 4, -1)
            if grad_x is not None and norms.below is not None:
                norms.below.direct = grad_x
            grad_x = None if grad_x is None else grad_x.grad
            grad_b = None if grad_b is None else rotate(grad_b, 4, -1)
        else:
            grad_x, grad_wi = input_grads(d_pre, x, wi, (needs[0], needs[3]))
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
