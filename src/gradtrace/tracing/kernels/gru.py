"""GRU layer direction with hand-written backpropagation through time that records ||dL/dh_t||.

torch's GRU: r, z = sigmoid(x_rz + W_hrz h + b_hrz), n = tanh(x_n + r*(W_hn h + b_hn)),
h_t = n + z*(h_{t-1} - n). The input projection is rotated to [n, r, z]; W_hh keeps torch's
[r, z, n]. One buffer S (N, 5H) holds per row first the input projection, then (once read) the
factors F = [Fn, Fr, Fz, Fn*r, z] with Fn = (1-z)(1-n^2), Fr = Fn*(W_hn h + b_hn)*r',
Fz = (h_{t-1} - n)*z' (x' = x(1-x)), and in backward, in place, Y = dh*F. Backward is three
operations per step:

    Y   = dh*F = [dA_n, dA_r, dA_z, dHG_n, dh*z]        (one multiply, in place)
    dh' = dout' + dh*z + [dA_r, dA_z, dHG_n] @ W_hh      (addmm, add)

Y[:, :3H] is the gradient of the input projection [n, r, z] and Y[:, H:4H] that of the hidden
projection [r, z, n]; their weight and bias gradients are one matmul or sum over all steps.
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
from gradtrace.tracing.kernels.rescale import Scale, scaled_grads
from gradtrace.tracing.plan import NormRing


class GRULayer(torch.autograd.Function):
    """(x (N, I), h0 (B, H), weights in torch's layout) -> (out (N, H), h_n)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, plan, norms: StepNorms):
        hid = h0.shape[1]
        wi = rotate(w_ih, 3, 1)
        s = x.new_empty(plan.total, 5 * hid)  # (N, 5H), see the module docstring
        project_(s[:, : 3 * hid], x, wi, rotate(b_ih, 3, 1))
        out = x.new_empty(plan.total, hid)
        h_n = torch.empty_like(h0)
        hg_all = x.new_empty(plan.batch, 3 * hid)
        new_all, diff_all, tmp_all = (x.new_empty(plan.batch, hid) for _ in range(3))
        ones = x.new_ones(plan.batch, hid)
        gx_n, gx_rz = plan.split(s[:, :hid]), plan.split(s[:, hid : 3 * hid])
        f_n, f_r, f_z = (plan.split(s[:, k * hid : (k + 1) * hid]) for k in range(3))
        f_gates = plan.split(s[:, 3 * hid :])
        outs, wt = plan.split(out), w_hh.t()
        sizes = plan.sizes
        n = sizes[plan.order[0]]
        h = h0[:n]
        for t in plan.order:
            if sizes[t] != n:  # packed: examples end (forward) or start (reverse) here
                size = sizes[t]
                if size < n:
                    h_n[size:n] = h[size:n]
                    h = h[:size]
                else:
                    h = torch.cat([h, h0[n:size]])
                n = size
            hg, new, diff, tmp = hg_all[:n], new_all[:n], diff_all[:n], tmp_all[:n]
            if b_hh is None:
                torch.mm(h, wt, out=hg)
            else:
                torch.addmm(b_hh, h, wt, out=hg)
            gates = f_gates[t]  # becomes [r, z], later [Fn*r, z]
            torch.add(gx_rz[t], hg[:, : 2 * hid], out=gates).sigmoid_()
            r, z = gates[:, :hid], gates[:, hid:]
            torch.addcmul(gx_n[t], r, hg[:, 2 * hid :], out=new).tanh_()
            torch.sub(h, new, out=diff)
            h = torch.addcmul(new, z, diff, out=outs[t])
            sigmoid_bw(diff, z, grad_input=f_z[t])
            tanh_bw(ones[:n], new, grad_input=tmp)  # 1 - n^2
            torch.addcmul(tmp, z, tmp, value=-1.0, out=f_n[t])
            torch.mul(f_n[t], hg[:, 2 * hid :], out=tmp)
            sigmoid_bw(tmp, r, grad_input=f_r[t])
            r.mul_(f_n[t])
        h_n[:n] = h
        ctx.save_for_backward(s, out, x, h0, wi, w_hh)
        ctx.plan, ctx.norms, ctx.has_bias = plan, norms, b_hh is not None
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn):
        s, out, x, h0, wi, w_hh = ctx.saved_tensors
        plan, norms, needs = ctx.plan, ctx.norms, ctx.needs_input_grad
        hid = h0.shape[1]
        ring = NormRing(plan, hid, s, norms.h)
        d_h0 = torch.zeros_like(d_hn)
        link, norms.direct, direct = norms.direct, None, None
        if link is not None:  # the layer above was rescaled: take its exact, scaled gradient
            d_out, direct = link.scaled_for(d_out)
        ys, douts = plan.split(s.view(-1, 5, hid)), plan.split(d_out)
        d_hidden, dhz = plan.split(s[:, hid : 4 * hid]), plan.split(s[:, 4 * hid :])
        sizes, after = plan.sizes, None  # after: the step processed right after t
        scale = Scale(plan, d_out, direct)  # carried gradients are 2^s times the true ones
        for t in reversed(plan.order):
            n, dh = sizes[t], ring.slots[t]
            if after is None:
                torch.add(douts[t], d_hn[:n], out=dh)
            elif sizes[after] == n:
                beta, alpha = scale.direct(t, d_hidden[after], dhz[after])
                torch.addmm(douts[t], d_hidden[after], w_hh, beta=beta, alpha=alpha, out=dh)
                dh.add_(dhz[after], alpha=alpha)
            else:
                rec = torch.addmm(dhz[after], d_hidden[after], w_hh)
                carry_back_(rec, n, out=dh, final=d_hn, initial=d_h0, direct=douts[t])
            scale.check(t, dh)
            ys[t].mul_(dh.unsqueeze(1))
            ring.done(t)
            after = t
        first = plan.order[0]
        d_h0[: sizes[first]] = torch.addmm(dhz[first], d_hidden[first], w_hh).mul_(
            2.0 ** -scale.exps[first]
        )
        scale.unscale_norms(norms)
        norms.filled = True
        d_input, d_hid = s[:, : 3 * hid], s[:, hid : 4 * hid]  # [n, r, z] and [r, z, n]
        grad_wh = grad_bi = grad_bh = None
        if scale.used:
            grad_wh = torch.zeros_like(w_hh) if needs[3] else None
            bias = ctx.has_bias and (needs[4] or needs[5])
            link, grad_wi, sum_in, sum_hid = scaled_grads(
                scale, d_input, x, wi, out, h0, grad_wh, (needs[0], needs[2], bias), d_hid
            )
            if link is not None and norms.below is not None:
                norms.below.direct = link
            grad_x = None if link is None else link.grad
            if bias:
                grad_bi = rotate(sum_in, 3, -1) if needs[4] else None
                grad_bh = sum_hid if needs[5] else None
        else:
            grad_x, grad_wi = input_grads(d_input, x, wi, (needs[0], needs[2]))
            if needs[3]:
                grad_wh = torch.zeros_like(w_hh)
                plan.weight_grad_(grad_wh, d_hid, out, h0)
            if ctx.has_bias:
                grad_bi = rotate(d_input.sum(dim=0), 3, -1) if needs[4] else None
                grad_bh = d_hid.sum(dim=0) if needs[5] else None
        return grad_x, d_h0, rotate(grad_wi, 3, -1), grad_wh, grad_bi, grad_bh, None, None
