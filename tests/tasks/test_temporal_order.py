"""The temporal order problem: layout, windows, classes, balance, baseline and criterion."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from gradtrace.tasks import TaskSpec, make_task
from gradtrace.tasks.temporal_order import windows


def _sample(seq_len: int, symbols: int, batch: int, seed: int = 0):
    """``batch`` examples, drawn in batches of at most 8192 (the library bound)."""
    task = make_task(TaskSpec(name="temporal_order", seq_len=seq_len, symbols=symbols))
    gen = torch.Generator().manual_seed(seed)
    parts = [task.sample(min(8192, batch - i), generator=gen) for i in range(0, batch, 8192)]
    return task, torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


@pytest.mark.parametrize("symbols", [2, 3])
def test_sequences_start_with_b_end_with_e_and_hold_one_relevant_symbol_per_window(symbols):
    task, x, y = _sample(60, symbols, 300)
    assert x.shape == (300, 60, 8) and y.shape == (300,)
    assert (task.input_size, task.output_size) == (8, 2**symbols)
    tokens = x.argmax(-1)
    assert (tokens[:, 0] == 4).all() and (tokens[:, -1] == 5).all()
    relevant = tokens >= 6  # X = 6, Y = 7
    assert (relevant.sum(1) == symbols).all()
    for lo, hi in windows(60, symbols):
        assert (relevant[:, lo:hi].sum(1) == 1).all()


@pytest.mark.parametrize("symbols", [2, 3])
def test_class_is_the_ordered_combination_of_x_and_y(symbols):
    _, x, y = _sample(100, symbols, 200, seed=1)
    tokens = x.argmax(-1)
    for row, label in zip(tokens, y, strict=True):
        bits = [int(tok) - 6 for tok in row if tok >= 6]  # X -> 0, Y -> 1 in time order
        assert label.item() == int("".join(map(str, bits)), 2)


@pytest.mark.parametrize("symbols", [2, 3])
def test_windows_are_disjoint_and_inside_the_sequence_for_every_length(symbols):
    for seq_len in range(10, 400):
        spans = windows(seq_len, symbols)
        assert spans[0][0] >= 1 and spans[-1][1] <= seq_len - 1
        for (_, hi), (lo, _) in itertools.pairwise(spans):
            assert hi <= lo
        assert all(lo < hi for lo, hi in spans)


@pytest.mark.parametrize("symbols", [2, 3])
def test_baselines_are_log_classes_and_one_over_classes(symbols):
    task, _, y = _sample(40, symbols, 40_000, seed=2)
    classes = 2**symbols
    assert task.baseline == 1 / classes
    assert task.baseline_loss == pytest.approx(math.log(classes))
    freq = torch.bincount(y, minlength=classes).float() / len(y)
    assert torch.allclose(freq, torch.full((classes,), 1 / classes), atol=0.01)
    uniform = torch.zeros(len(y), classes)
    assert task.loss(uniform, y).item() == pytest.approx(math.log(classes))


def test_solved_needs_99_percent_accuracy():
    task, _, y = _sample(20, 2, 100, seed=3)
    right = torch.nn.functional.one_hot(y, 4).float()
    assert task.metric(right, y) == 1.0 and task.solved(1.0)
    assert not task.solved(0.98) and task.solved(0.99)


def test_symbols_other_than_two_or_three_are_rejected():
    with pytest.raises(ValueError, match="symbols: 4 is not allowed"):
        TaskSpec(name="temporal_order", symbols=4)
