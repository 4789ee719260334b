"""The scans of gradtrace.models.frontier equal the step loop: values and gradients."""

from __future__ import annotations

import pytest
import torch

from gradtrace.models.frontier.scan import chunk_size, log_scan, loop_scan, scan


def _inputs(steps: int, dtype=torch.float64, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.rand(3, steps, 4, generator=generator, dtype=dtype)
    b = torch.randn(3, steps, 4, generator=generator, dtype=dtype)
    h0 = torch.randn(3, 4, generator=generator, dtype=dtype)
    return a, b, h0


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 50, 1000])
@pytest.mark.parametrize("start", [False, True])
def test_chunked_scan_equals_the_loop(steps, start):
    a, b, h0 = _inputs(steps)
    h0 = h0 if start else None
    torch.testing.assert_close(scan(a, b, h0), loop_scan(a, b, h0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk", [1, 3, 4, 64])
def test_any_chunk_length_gives_the_same_numbers(chunk):
    a, b, h0 = _inputs(37)
    torch.testing.assert_close(scan(a, b, h0, chunk=chunk), loop_scan(a, b, h0))


@pytest.mark.parametrize("steps", [1, 5, 1000])
@pytest.mark.parametrize("start", [False, True])
def test_log_scan_equals_the_loop_for_positive_values(steps, start):
    a, b, h0 = _inputs(steps)
    b, h0 = b.abs() + 1e-3, h0.abs() + 1e-3
    expected = loop_scan(a, b, h0 if start else None)
    got = log_scan(a.log(), b.log(), h0.log() if start else None)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_complex_values_and_broadcast_decays():
    generator = torch.Generator().manual_seed(1)
    lam = 0.95 * torch.exp(1j * torch.rand(1, 1, 5, generator=generator, dtype=torch.float64))
    b = torch.randn(2, 300, 5, generator=generator, dtype=torch.complex128)
    torch.testing.assert_close(scan(lam, b), loop_scan(lam, b), rtol=1e-12, atol=1e-12)


def test_gradients_equal_the_loops_at_t_1000():
    grads = []
    for run in (loop_scan, scan, "log"):
        a, b, _ = _inputs(1000)
        b = b.abs().requires_grad_()
        a.requires_grad_()
        h = log_scan(a.log(), b.log()) if run == "log" else run(a, b)
        (h * torch.linspace(-1, 1, h.numel(), dtype=h.dtype).view_as(h)).sum().backward()
        grads.append((a.grad, b.grad))
    for got in grads[1:]:
        for g, expected in zip(got, grads[0], strict=True):
            assert torch.isfinite(g).all()
            torch.testing.assert_close(g, expected, rtol=1e-6, atol=1e-9)


def test_chunks_are_about_half_the_square_root_of_t():
    assert [chunk_size(t) for t in (1, 4, 100, 10_000)] == [1, 1, 5, 50]


@pytest.mark.parametrize("steps", [15, 16, 17, 101, 2500])
@pytest.mark.parametrize("start", [False, True])
def test_time_invariant_decays_scan_by_powers_with_the_same_values_and_gradients(steps, start):
    """The LRU's lambda (size 1 on the time axis): powers of a and a recursive carry."""
    generator = torch.Generator().manual_seed(2)
    angle = torch.rand(2, 1, 5, generator=generator, dtype=torch.float64)
    radius = 0.9 + 0.099 * torch.rand(2, 1, 5, generator=generator, dtype=torch.float64)
    results = []
    for run in (loop_scan, scan):
        lam = torch.polar(radius, angle).requires_grad_()
        b = torch.randn(
            2, steps, 5, generator=torch.Generator().manual_seed(3), dtype=torch.complex128
        ).requires_grad_()
        h0 = (
            torch.randn(
                2, 5, generator=torch.Generator().manual_seed(4), dtype=torch.complex128
            ).requires_grad_()
            if start
            else None
        )
        h = run(lam, b, h0)
        torch.view_as_real(h).mul(
            torch.linspace(-1, 1, 2 * h.numel(), dtype=torch.float64).view(*h.shape, 2)
        ).sum().backward()
        results.append((h.detach(), lam.grad, b.grad, None if h0 is None else h0.grad))
    for got, expected in zip(results[1], results[0], strict=True):
        if expected is not None:
            torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)
