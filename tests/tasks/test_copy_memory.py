"""The copy memory problem: layout, targets, baseline of the memoryless predictor, criterion."""

from __future__ import annotations

import math

import pytest
import torch

from gradtrace.tasks import TaskSpec, make_task


def _task(seq_len: int = 30, **options):
    return make_task(TaskSpec(name="copy", seq_len=seq_len, **options))


def _targets(task, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` target rows drawn in batches of at most 8192 (the library bound)."""
    return torch.cat([task.sample(min(8192, n - i), generator=gen)[1] for i in range(0, n, 8192)])


def test_sequence_is_symbols_then_blanks_then_delimiter_then_blanks():
    task = _task(30)  # delay T = 10, recall 10
    x, y = task.sample(16, generator=torch.Generator().manual_seed(0))
    assert x.shape == (16, 30, 10) and y.shape == (16, 30)
    assert (task.input_size, task.output_size, task.readout) == (10, 9, "all")
    assert task.delay == 10
    tokens = x.argmax(-1)
    assert torch.equal(x.sum(-1), torch.ones(16, 30))  # one-hot
    assert ((tokens[:, :10] >= 1) & (tokens[:, :10] <= 8)).all()
    assert (tokens[:, 10:19] == 0).all()
    assert (tokens[:, 19] == 9).all()  # delimiter, then recall blanks
    assert (tokens[:, 20:] == 0).all()


def test_targets_are_blank_until_the_last_steps_which_repeat_the_first_symbols():
    task = _task(25, recall=5, alphabet=4)
    x, y = task.sample(32, generator=torch.Generator().manual_seed(1))
    tokens = x.argmax(-1)
    assert (y[:, :20] == 0).all()
    assert torch.equal(y[:, 20:], tokens[:, :5])
    assert y.max() <= 4


def test_baseline_loss_equals_the_cross_entropy_of_the_best_memoryless_predictor():
    task = _task(40)
    y = _targets(task, 20_000, torch.Generator().manual_seed(2))
    # the best predictor blind to the inputs knows only the step: its per-step target frequencies
    freq = torch.stack([torch.bincount(y[:, t], minlength=9) for t in range(40)]).double()
    probs = freq / freq.sum(1, keepdim=True)  # (T, C)
    entropy = -(probs * torch.log(probs.clamp_min(1e-300))).sum(1).mean().item()
    closed_form = 10 * math.log(8) / 40
    assert task.baseline_loss == pytest.approx(closed_form)
    assert entropy == pytest.approx(closed_form, rel=2e-3)
    # the task's loss scores that predictor (as logits) at the same value
    logits = torch.log(probs.clamp_min(1e-30)).float().expand(1000, 40, 9)
    assert task.loss(logits, y[:1000]).item() == pytest.approx(closed_form, rel=1e-2)


def test_recall_accuracy_of_a_uniform_guess_is_one_over_the_alphabet():
    task = _task(30)
    gen = torch.Generator().manual_seed(3)
    y = _targets(task, 20_000, gen)
    guesses = torch.randn(20_000, 30, 9, generator=gen)
    guesses[..., 0] = -1e9  # guess among the 8 symbols only
    assert task.baseline == 1 / 8
    assert task.metric(guesses, y) == pytest.approx(1 / 8, abs=5e-3)


def test_a_perfect_recall_is_solved_and_one_wrong_symbol_in_fifty_is_not():
    task = _task(30)
    _, y = task.sample(5, generator=torch.Generator().manual_seed(4))
    perfect = torch.nn.functional.one_hot(y, 9).float()
    assert task.metric(perfect, y) == 1.0 and task.solved(1.0)
    perfect[0, -1] = perfect[0, -1].roll(1)  # one of 50 recalled symbols wrong: 0.98
    assert task.metric(perfect, y) == pytest.approx(0.98)
    assert not task.solved(0.98) and task.solved(0.99)


def test_seq_len_must_leave_room_for_a_delay():
    with pytest.raises(ValueError, match="seq_len: 20 is not allowed"):
        TaskSpec(name="copy", seq_len=20)
    assert TaskSpec(name="copy", seq_len=11, recall=5).seq_len == 11
