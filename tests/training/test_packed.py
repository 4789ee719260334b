"""Packed runs (torch.func.vmap over stacked parameters) against the same runs trained alone."""

from __future__ import annotations

import pytest
import torch

from gradtrace.errors import InvalidValue
from gradtrace.training.packed import train_alone, train_packed

TASK = {"name": "adding", "seq_len": 12}
SEEDS, LRS = [0, 1, 2], [1e-2, 3e-3, 1e-3]


@pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_every_packed_run_follows_the_same_run_trained_alone(cell, optimizer):
    model = {"cell": cell, "hidden_size": 8}
    kw = dict(steps=4, batch_size=8, optimizer=optimizer)
    packed = train_packed(model, TASK, seeds=SEEDS, lrs=LRS, **kw)
    for i, (seed, lr) in enumerate(zip(SEEDS, LRS, strict=True)):
        alone = train_alone(model, TASK, seed=seed, lr=lr, **kw)
        # batched kernels round differently: float32 rounding, not bit identity (see packed.py)
        torch.testing.assert_close(packed.losses[:, i], alone.losses[:, 0], rtol=1e-5, atol=1e-7)
        for name, value in alone.params[0].items():
            torch.testing.assert_close(packed.params[i][name], value, rtol=1e-5, atol=1e-6)
    # the runs really differ: different seeds and rates give different losses
    assert len({float(v) for v in packed.losses[-1]}) == len(SEEDS)


def test_a_run_does_not_depend_on_the_runs_packed_with_it():
    model = {"cell": "gru", "hidden_size": 8}
    together = train_packed(model, TASK, seeds=SEEDS, lrs=LRS, steps=3, batch_size=8)
    single = train_packed(model, TASK, seeds=[1], lrs=[3e-3], steps=3, batch_size=8)
    torch.testing.assert_close(together.losses[:, 1], single.losses[:, 0], rtol=1e-6, atol=1e-8)


def test_packed_training_validates_before_any_work():
    with pytest.raises(InvalidValue, match=r"^lrs: "):
        train_packed({}, TASK, seeds=[0, 1], lrs=[1e-3], steps=1)
    with pytest.raises(InvalidValue, match=r"^optimizer: 'lbfgs' is not allowed"):
        train_packed({}, TASK, seeds=[0], lrs=[1e-3], steps=1, optimizer="lbfgs")
    with pytest.raises(InvalidValue, match=r"^steps: "):
        train_packed({}, TASK, seeds=[0], lrs=[1e-3], steps=0)
