"""Sequential digits: pixel sequences, the fixed split, the permutation, baseline, criterion."""

from __future__ import annotations

import math

import pytest
import torch

from gradtrace.tasks import TaskSpec, make_task


def _task(name: str = "digits"):
    return make_task(TaskSpec(name=name))


def test_split_is_1437_training_and_360_held_out_images():
    task = _task()
    assert task.split_sizes == {"train": 1437, "held_out": 360}
    x, y = task.sample(5000, generator=torch.Generator().manual_seed(0), split="held_out")
    assert x.shape == (360, 64, 1) and y.shape == (360,)


def test_images_are_64_steps_of_one_pixel_in_unit_range():
    task = _task()
    x, y = task.sample(32, generator=torch.Generator().manual_seed(0))
    assert x.shape == (32, 64, 1) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.9
    assert (task.input_size, task.output_size, task.readout, task.seq_len) == (1, 10, "last", 64)
    assert y.min() >= 0 and y.max() <= 9


def test_training_batches_never_contain_held_out_images():
    task = _task()
    held, _ = task.sample(360, generator=torch.Generator().manual_seed(0), split="held_out")
    train, _ = task.sample(4000, generator=torch.Generator().manual_seed(1))
    held_rows = {row.numpy().tobytes() for row in held[..., 0]}
    assert not any(row.numpy().tobytes() in held_rows for row in train[..., 0])


def test_permuted_digits_reorder_the_same_pixels_with_one_fixed_permutation():
    plain, permuted = _task(), _task("digits_permuted")
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    xa, ya = plain.sample(100, generator=gen())
    xb, yb = permuted.sample(100, generator=gen())
    assert torch.equal(ya, yb)
    assert not torch.equal(xa, xb)
    assert torch.equal(xa.sort(dim=1).values, xb.sort(dim=1).values)
    # one order for every image: each permuted step is some plain step across all 100 images
    plain_cols, permuted_cols = xa[..., 0].T, xb[..., 0].T  # (64, 100)
    matches = (permuted_cols[:, None, :] == plain_cols[None, :, :]).all(-1)  # (64, 64)
    assert matches.any(1).all()
    again, _ = _task("digits_permuted").sample(100, generator=gen())
    assert torch.equal(xb, again)


def test_baseline_is_one_tenth_because_the_classes_are_balanced():
    task = _task()
    _, y = task.sample(360, generator=torch.Generator().manual_seed(0), split="held_out")
    freq = torch.bincount(y, minlength=10).double() / len(y)
    assert task.baseline == 0.1 and task.baseline_loss == pytest.approx(math.log(10))
    assert freq.max().item() == pytest.approx(0.1, abs=0.02)  # majority-class accuracy
    entropy = -(freq * freq.log()).sum().item()
    assert entropy == pytest.approx(math.log(10), abs=0.01)


def test_solved_at_ninety_percent_held_out_accuracy():
    task = _task()
    assert task.solved(0.9) and not task.solved(0.89)


@pytest.mark.parametrize("name", ["digits", "digits_permuted"])
def test_seq_len_other_than_64_is_an_error_naming_the_field(name):
    with pytest.raises(ValueError, match=r"^seq_len: 100 is not allowed; .*must be 64"):
        TaskSpec(name=name, seq_len=100)
    assert TaskSpec(name=name, seq_len=64).seq_len == 64
