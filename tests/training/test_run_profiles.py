"""Profiles: the middle snapshot lies near half the run; profiling never changes the run."""

from __future__ import annotations

import pytest
import torch

from gradtrace.training.profiles import Snapshots


@pytest.mark.parametrize("steps", [2, 3, 7, 10, 64, 100, 333, 1000, 4097])
def test_the_middle_snapshot_lies_between_0_4_and_0_5_of_the_run(steps):
    model = torch.nn.Linear(2, 1)
    snapshots = Snapshots()
    for step in range(1, steps + 1):
        with torch.no_grad():
            model.weight.fill_(step)
        snapshots.maybe_take(step, model)
    middle_step, state = snapshots.middle(steps)
    assert 0.4 * steps <= middle_step <= 0.5 * steps or middle_step == steps // 2
    assert torch.equal(state["weight"], torch.full((1, 2), float(middle_step)))
    assert len(snapshots._kept) <= 6  # memory stays bounded


def test_a_one_step_run_has_no_middle():
    snapshots = Snapshots()
    snapshots.maybe_take(1, torch.nn.Linear(1, 1))
    assert snapshots.middle(1) is None


def test_a_run_stores_start_middle_and_end_profiles_without_changing_its_numbers():
    from gradtrace.models import ModelSpec
    from gradtrace.tasks import TaskSpec
    from gradtrace.tracing import GradientProfile
    from gradtrace.training import TrainSpec, train

    model, task = (
        ModelSpec(cell="lstm", hidden_size=8, num_layers=2, dropout=0.2),
        TaskSpec(name="adding", seq_len=12),
    )
    spec = TrainSpec(lr=1e-2, max_steps=40, eval_every=10, eval_batch_size=32)
    with_profiles = train(model, task, spec).to_dict()
    without = train(model, task, spec.model_copy(update={"profiles": False})).to_dict()
    assert without["profiles"] is None
    assert [with_profiles["profiles"][k]["step"] for k in ("start", "middle", "end")] == [0, 20, 40]
    for entry in with_profiles["profiles"].values():
        profile = GradientProfile.from_dict(entry["profile"])
        assert [layer.g.shape for layer in profile.layers] == [(12,), (12,)]
    ignore = {"profiles", "train_spec", "wall_time_s", "time_per_step_s", "peak_memory_mb"}
    assert {k: v for k, v in with_profiles.items() if k not in ignore} == {
        k: v for k, v in without.items() if k not in ignore
    }


def test_profiles_are_measured_without_flushing_subnormals_inside_a_flushing_run():
    from gradtrace.models import ModelSpec, build_model
    from gradtrace.numerics import flush_denormal
    from gradtrace.tasks import TaskSpec, make_task
    from gradtrace.training.profiles import profile_step

    def flushing() -> bool:
        return (torch.tensor([1e-39]) * 0.5).item() == 0.0

    class Spy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = build_model(ModelSpec(cell="lstm", hidden_size=4, input_size=2))
            self.seen: list[bool] = []

        def forward(self, x):
            self.seen.append(flushing())
            return self.inner(x)

    task = make_task(TaskSpec(name="adding", seq_len=6))
    x, y = task.sample(3, generator=torch.Generator().manual_seed(0))
    spy = Spy()
    with flush_denormal(True) as active:
        entry = profile_step(spy, task, x, y, step=0)
        assert flushing() == active
    assert "profile" in entry, entry
    assert spy.seen == [False]
