"""Run settings: subnormals flushed inside and restored after; memory meter is non-negative."""

from __future__ import annotations

import torch

from gradtrace.training.runtime import PeakMemory, pick_device, run_settings


def _flushing() -> bool:
    return (torch.tensor([1e-39]) * 0.5).item() == 0.0


def test_subnormals_are_flushed_inside_a_run_and_restored_after():
    before = _flushing()
    with run_settings(threads=None, seed=0, device=torch.device("cpu")):
        assert _flushing() or not torch.set_flush_denormal(True)
    assert _flushing() == before


def test_the_seeded_block_is_reproducible_and_private():
    torch.manual_seed(1)
    outside = torch.rand(2)
    torch.manual_seed(1)
    with run_settings(threads=1, seed=5, device=torch.device("cpu")):
        first = torch.rand(2)
    with run_settings(threads=1, seed=5, device=torch.device("cpu")):
        second = torch.rand(2)
    assert torch.equal(first, second)
    assert torch.equal(torch.rand(2), outside)


def test_peak_memory_growth_is_measured_and_never_negative():
    meter = PeakMemory(torch.device("cpu"))
    block = torch.ones(64 * 2**20 // 4)  # 64 MB touched
    block.add_(1)
    assert meter.method == "maxrss_growth"
    assert meter.peak_mb() >= 0
    assert pick_device("cpu") == torch.device("cpu")
