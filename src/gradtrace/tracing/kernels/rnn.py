"""Elman RNN layer direction (tanh or relu) with hand-written BPTT that records ||dL/dh_t||.

h_t = act(x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T). One buffer S (N, H) holds the input
projection and, in backward, the pre-activation gradients. Backward per step: dA = dh * act'(h_t)
(one op) and dh' = dout' + dA @ W_hh (one addmm); the weight, bias and input gradients are one
matmul or sum over all steps.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from gradtrace.tracing.kernels.common import (
    StepNorms,
    carry_back_,
    input_grads,
    project_,
    tanh_bw,
)
from gradtrace.tracing.kernels.rescale import Scale, scaled_grads
from gradtrace.tracing.plan import NormRing

_threshold_bw = torch.ops.aten.threshold_backward.grad_input  # (grad, output, threshold, *, out)


class RNNLayer(torch.autograd.Function):
    """(x (N, I), h0 (B, H), weights, nonlinearity) -> (out (N, H), h_n)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity: str, plan, norms: StepNorms):
        s = x.new_empty(plan.total, h0.shape[1])  # input projection, later dL/d(pre-activation)
        project_(s, x, w_ih, None if b_ih is None else b_ih + b_hh)
        out = torch.empty_like(s)
        h_n = torch.empty_like(h0)
        gxs, outs, wt = plan.split(s), plan.split(out), w_hh.t()
        relu = nonlinearity == "relu"
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
            h = torch.addmm(gxs[t], h, wt, out=outs[t])
            if relu:
                h.relu_()
            else:
                h.tanh_()
        h_n[:n] = h
        ctx.save_for_backward(s, out, x, h0, w_ih, w_hh)
        ctx.plan, ctx.norms, ctx.relu = plan, norms, relu
        ctx.has_bias = b_ih is not None
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn):
        s, out, x, h0, w_ih, w_hh = ctx.saved_tensors
        plan, norms, needs = ctx.plan, ctx.norms, ctx.needs_input_grad
        ring = NormRing(plan, out.shape[1], out, norms.h)
        d_h0 = torch.zeros_like(d_hn)
        link, norms.direct, direct = norms.direct, None, None
        if link is not None:  # the layer above was rescaled: take its exact, scaled gradient
            d_out, direct = link.scaled_for(d_out)
        d_pres, outs, douts = plan.split(s), plan.split(out), plan.split(d_out)
        sizes, after = plan.sizes, None  # after: the step processed right after t
        scale = Scale(plan, d_out, direct)  # carried gradients are 2^s times the true ones
        for t in reversed(plan.order):
            n, dh = sizes[t], ring.slots[t]
            if after is None:
                torch.add(douts[t], d_hn[:n], out=dh)
            elif sizes[after] == n:
                beta, alpha = scale.direct(t, d_pres[after])
                torch.addmm(douts[t], d_pres[after], w_hh, beta=beta, alpha=alpha, out=dh)
            else:
                rec = torch.mm(d_pres[after], w_hh)
                carry_back_(rec, n, out=dh, final=d_hn, initial=d_h0, direct=douts[t])
            scale.check(t, dh)
            if ctx.relu:
                _threshold_bw(dh, outs[t], 0, grad_input=d_pres[t])
            else:
                tanh_bw(dh, outs[t], grad_input=d_pres[t])
            ring.done(t)
            after = t
        first = plan.order[0]
        d_h0[: sizes[first]] = torch.mm(d_pres[first], w_hh).mul_(2.0 ** -scale.exps[first])
        scale.unscale_norms(norms)
        norms.filled = True
        grad_wh = grad_b = None
        if scale.used:
            grad_wh = torch.zeros_like(w_hh) if needs[3] else None
            bias = ctx.has_bias and (needs[4] or needs[5])
            link, grad_wi, grad_b, _ = scaled_grads(
                scale, s, x, w_ih, out, h0, grad_wh, (needs[0], needs[2], bias)
            )
            if link is not None and norms.below is not None:
                norms.below.direct = link
            grad_x = None if link is None else link.grad
        else:
            grad_x, grad_wi = input_grads(s, x, w_ih, (needs[0], needs[2]))
            if needs[3]:
                grad_wh = torch.zeros_like(w_hh)
                plan.weight_grad_(grad_wh, s, out, h0)
            if ctx.has_bias and (needs[4] or needs[5]):
                grad_b = s.sum(dim=0)
        return (
            grad_x,
            d_h0,
            grad_wi,
            grad_wh,
            grad_b,
            None if grad_b is None else grad_b.clone(),
            None,
            None,
            None,
        )
