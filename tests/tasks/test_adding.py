"""The adding problem: batch layout, markers, targets, seeding, baseline and criterion."""

from __future__ import annotations

import pytest
import torch

from gradtrace.tasks import TaskSpec, make_task


def _batch(seq_len: int, batch: int, seed: int = 0):
    """``batch`` examples, drawn in batches of at most 8192 (the library bound)."""
    task = make_task(TaskSpec(name="adding", seq_len=seq_len))
    gen = torch.Generator().manual_seed(seed)
    parts = [task.sample(min(8192, batch - i), generator=gen) for i in range(0, batch, 8192)]
    return task, torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


def test_batches_have_value_and_marker_channels_and_one_target_each():
    task, x, y = _batch(50, 7)
    assert x.shape == (7, 50, 2) and x.dtype == torch.float32
    assert y.shape == (7, 1)
    assert (task.input_size, task.output_size, task.readout) == (2, 1, "last")
    assert x[..., 0].min() >= 0 and x[..., 0].max() < 1


@pytest.mark.parametrize("seq_len", [2, 3, 11, 100])
def test_exactly_one_marker_falls_in_each_half(seq_len):
    _, x, _ = _batch(seq_len, 500)
    markers = x[..., 1]
    half = seq_len // 2
    assert torch.equal(markers[:, :half].sum(1), torch.ones(500))
    assert torch.equal(markers[:, half:].sum(1), torch.ones(500))
    assert set(markers.unique().tolist()) <= {0.0, 1.0}


def test_target_is_the_sum_of_the_two_marked_values():
    _, x, y = _batch(40, 64)
    expected = (x[..., 0] * x[..., 1]).sum(1, keepdim=True)
    torch.testing.assert_close(y, expected)


def test_the_same_seed_gives_the_same_batch_and_another_seed_another():
    _, x1, y1 = _batch(30, 8, seed=3)
    _, x2, y2 = _batch(30, 8, seed=3)
    _, x3, _ = _batch(30, 8, seed=4)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)


def test_baseline_is_the_mse_of_predicting_one_on_a_large_sample():
    task, _, y = _batch(20, 200_000)
    assert task.baseline == pytest.approx(1 / 6)
    constant = torch.ones_like(y)
    # MSE of the constant 1 = Var(u1 + u2) = 1/6; standard error of the mean ~ 0.0003
    assert task.metric(constant, y) == pytest.approx(1 / 6, abs=2e-3)
    assert task.loss(constant, y).item() == pytest.approx(task.baseline_loss, abs=2e-3)
    # and 1 is the best constant: the mean target
    assert y.mean().item() == pytest.approx(1.0, abs=5e-3)


def test_solved_means_held_out_mse_below_one_hundredth():
    task = make_task(TaskSpec(name="adding", seq_len=10))
    assert task.solved(0.0099) and not task.solved(0.01) and not task.solved(0.167)
    assert not task.solved(float("nan"))
    assert task.higher_is_better is False and task.metric_name == "mse"
