"""train(): statuses, determinism, budgets, clipping records, fitting specs, input errors."""

from __future__ import annotations

import json

import pytest
import torch

from gradtrace.models import ModelSpec
from gradtrace.tasks import TaskSpec
from gradtrace.training import RunRecord, TrainSpec, train

_TIMING = ("wall_time_s", "time_per_step_s", "peak_memory_mb")


def _adding(seq_len: int = 10):
    return TaskSpec(name="adding", seq_len=seq_len)


def _fast(**fields) -> TrainSpec:
    base = dict(lr=1e-2, clip="norm", clip_value=1.0, eval_every=25, eval_batch_size=256)
    return TrainSpec(**{**base, **fields})


def test_an_exception_inside_the_run_is_recorded_as_failed_with_what_was_measured():
    def explode(progress):
        if progress.step == 7:
            raise RuntimeError("sink is full")

    model = ModelSpec(cell="gru", hidden_size=8)
    record = train(model, _adding(), _fast(max_steps=50, profiles=False), on_step=explode)
    assert record.status == "failed"
    assert record.error == "RuntimeError: sink is full"
    assert record.steps == 7 and len(record.loss_curve) == 7


def test_the_same_seed_gives_the_same_record_on_cpu_and_another_seed_does_not():
    model = ModelSpec(cell="lstm", hidden_size=8)

    def run(seed):
        spec = _fast(max_steps=40, eval_every=10, seed=seed, profiles=False)
        data = train(model, _adding(), spec).to_dict()
        return {k: v for k, v in data.items() if k not in _TIMING}

    first, again, other = run(3), run(3), run(4)
    assert first == again
    assert first["loss_curve"] != other["loss_curve"]


def test_training_leaves_the_callers_rng_and_threads_as_they_were():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    spec = TrainSpec(max_steps=1, threads=2, seed=9, eval_batch_size=8, profiles=False)
    record = train(ModelSpec(hidden_size=4), _adding(), spec)
    assert record.threads == 2
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.rand(3), expected)


def test_the_record_is_strict_json_and_round_trips():
    record = train(ModelSpec(cell="gru", hidden_size=8), _adding(), _fast(max_steps=30))
    data = json.loads(json.dumps(record.to_dict(), allow_nan=False))
    assert RunRecord.from_dict(data) == record
    assert data["model_spec"]["input_size"] == 2 and data["task_spec"] == {
        "name": "adding",
        "seq_len": 10,
    }
    assert data["train_spec"]["max_steps"] == 30 and data["torch_version"] == torch.__version__
    assert data["n_params"] == sum(
        p.numel()
        for p in __import__("gradtrace").build_model(ModelSpec(**data["model_spec"])).parameters()
    )
    assert data["device"] == "cpu" and data["memory_method"] == "maxrss_growth"
    assert set(data["grad_norm_pre"]) == {"median", "max", "last"}
    with pytest.raises(ValueError, match="unknown keys"):
        RunRecord.from_dict({**data, "colour": 1})


def test_norm_clipping_is_recorded_before_and_after_with_its_rate():
    spec = TrainSpec(lr=1e-2, clip="norm", clip_value=0.05, max_steps=20, profiles=False)
    record = train(ModelSpec(cell="lstm", hidden_size=8), _adding(), spec)
    pre, post = record.grad_norm_pre, record.grad_norm_post
    assert pre["max"] > 0.05 and post["max"] <= 0.05 * (1 + 1e-4)
    assert 0 < record.clip_rate <= 1
    unclipped = train(
        ModelSpec(cell="lstm", hidden_size=8), _adding(), spec.model_copy(update={"clip": "none"})
    )
    assert unclipped.clip_rate == 0 and unclipped.grad_norm_pre == unclipped.grad_norm_post


def test_a_run_stopped_by_the_clock_is_out_of_time_not_unsolved():
    spec = TrainSpec(max_steps=10**6, max_seconds=0.5, profiles=False)
    record = train(ModelSpec(hidden_size=8), _adding(100), spec)
    assert record.status == "out_of_time" and 0 < record.steps < 10**6
    assert len(record.loss_curve) <= 200


def test_copy_fits_an_all_steps_readout_and_truncated_bptt_runs():
    spec = _fast(max_steps=5, tbptt=7, eval_every=5)
    record = train(
        ModelSpec(cell="lstm", hidden_size=8), TaskSpec(name="copy", seq_len=25, recall=3), spec
    )
    assert record.status == "unsolved", record.error
    assert record.model_spec["readout"] == "all" and record.model_spec["output_size"] == 9
    assert record.metric_name == "recall_accuracy"


@pytest.mark.parametrize(
    ("model", "task", "spec", "message"),
    [
        (
            ModelSpec(readout="attention"),
            TaskSpec(name="copy"),
            TrainSpec(),
            "^model.readout: 'attention'",
        ),
        (ModelSpec(readout="all"), _adding(), TrainSpec(), "^model.readout: 'all'"),
        (ModelSpec(readout="attention"), _adding(), TrainSpec(tbptt=5), "^tbptt: 5 is not allowed"),
        (
            {"cell": "lstm", "hiden_size": 3},
            _adding(),
            TrainSpec(),
            "^hiden_size: 3 is not allowed",
        ),
        (ModelSpec(), {"name": "adding", "seq_len": 0}, TrainSpec(), "^seq_len: 0"),
        (ModelSpec(), _adding(), {"lr": 0}, "^lr: 0 is not allowed"),
    ],
)
def test_invalid_or_incompatible_specs_raise_one_line_errors_before_any_work(
    model, task, spec, message
):
    with pytest.raises(ValueError, match=message) as error:
        train(model, task, spec)
    assert "\n" not in str(error.value)
