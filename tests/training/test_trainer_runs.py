"""Real training runs: an LSTM solves short adding, a tanh RNN cannot at length 100, SGD with a
huge step diverges, all recorded without exceptions."""

from __future__ import annotations

import json

import pytest

from gradtrace.models import ModelSpec
from gradtrace.tasks import TaskSpec
from gradtrace.training import TrainSpec, train


def _adding(seq_len: int = 10):
    return TaskSpec(name="adding", seq_len=seq_len)


def _fast(**fields) -> TrainSpec:
    base = dict(lr=1e-2, clip="norm", clip_value=1.0, eval_every=25, eval_batch_size=256)
    return TrainSpec(**{**base, **fields})


def test_an_lstm_solves_adding_at_length_10_within_seconds():
    record = train(ModelSpec(cell="lstm", hidden_size=32), _adding(10), _fast(max_steps=1500))
    assert record.status == "solved", record.error
    assert record.steps_to_solve == record.steps <= 1500
    assert record.metric < 0.01 and record.best_metric <= record.metric
    assert record.baseline == pytest.approx(1 / 6)
    assert record.eval_curve[-1] == [record.steps, record.metric]
    assert record.wall_time_s < 30


def test_a_tanh_rnn_stays_at_the_baseline_on_adding_at_length_100():
    model = ModelSpec(cell="rnn", hidden_size=32)
    spec = _fast(max_steps=200, batch_size=32, eval_every=100, profiles=False)
    record = train(model, _adding(100), spec)
    assert record.status == "unsolved" and record.steps == 200
    assert record.metric == pytest.approx(1 / 6, abs=0.04)  # no better than predicting 1


def test_sgd_with_a_huge_learning_rate_diverges_without_raising():
    model = ModelSpec(cell="rnn", hidden_size=16)
    spec = TrainSpec(optimizer="sgd", lr=1e6, max_steps=200, profiles=False)
    record = train(model, _adding(20), spec)
    assert record.status == "diverged" and record.error is None
    assert record.steps < 200 and record.metric is None
    json.dumps(record.to_dict(), allow_nan=False)
