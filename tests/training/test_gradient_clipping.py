"""Clipping: the gradients equal torch's clip functions, the norms equal brute-force norms."""

from __future__ import annotations

import math

import pytest
import torch

from gradtrace.training.clipping import clip_gradients_


def _params(scale: float, seed: int = 0) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    params = [
        torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in [(4, 3), (5,), (2, 2)]
    ]
    for p in params:
        p.grad = scale * torch.randn(p.shape, generator=gen)
    return params


def _norm(tensors) -> float:
    return math.sqrt(sum(float((t.double() ** 2).sum()) for t in tensors))


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_norm_clipping_equals_torch_and_reports_the_norms(scale):
    ours, theirs = _params(scale), _params(scale)
    before = _norm(p.grad for p in ours)
    pre, post, clipped = clip_gradients_(ours, clip="norm", clip_value=1.0)
    torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a.grad, b.grad)
    assert pre.item() == pytest.approx(before, rel=1e-6)
    assert post.item() == pytest.approx(_norm(p.grad for p in ours), rel=1e-6)
    assert bool(clipped) == (before > 1.0)
    assert post.item() == pytest.approx(min(before, 1.0), rel=1e-5)


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_value_clipping_equals_torch_and_reports_the_norms(scale):
    ours, theirs = _params(scale, seed=1), _params(scale, seed=1)
    before = _norm(p.grad for p in ours)
    biggest = max(float(p.grad.abs().max()) for p in ours)
    pre, post, clipped = clip_gradients_(ours, clip="value", clip_value=0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a.grad, b.grad)
        assert a.grad.abs().max() <= 0.5
    assert pre.item() == pytest.approx(before, rel=1e-6)
    assert post.item() == pytest.approx(_norm(p.grad for p in ours), rel=1e-6)
    assert bool(clipped) == (biggest > 0.5)


def test_no_clipping_leaves_gradients_alone_and_reports_one_norm():
    params = _params(3.0, seed=2)
    copies = [p.grad.clone() for p in params]
    pre, post, clipped = clip_gradients_(params, clip="none", clip_value=1.0)
    assert all(torch.equal(p.grad, c) for p, c in zip(params, copies, strict=True))
    assert pre.item() == post.item() == pytest.approx(_norm(copies), rel=1e-6)
    assert not bool(clipped)


def test_parameters_without_gradients_are_skipped():
    params = _params(1.0)
    params[1].grad = None
    pre, _, _ = clip_gradients_(params, clip="norm", clip_value=100.0)
    assert pre.item() == pytest.approx(_norm([params[0].grad, params[2].grad]), rel=1e-6)
