"""Sinks never stop each other or the monitor: deleted and moved files, reruns, copies, loss."""

from __future__ import annotations

import copy
import json
import pickle

import pytest
import torch

from gradtrace.errors import InvalidValue
from gradtrace.monitor import JsonlSink, Monitor, RichSummary, TensorBoardSink, read_jsonl


def _setup(lm, sinks, **options):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    options = {"profile_every": 0, "flush_every": 2, "warn": False, **options}
    return model, opt, Monitor(model, opt, sinks=sinks, **options)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("how", ["delete", "move", "truncate"])
def test_a_jsonl_file_lost_during_training_is_recreated_and_the_gap_marked(lm, tmp_path, how):
    path = tmp_path / "grads.jsonl"
    model, opt, monitor = _setup(lm, [str(path)])
    lm.train(model, opt, 4)  # steps 0-3 written (two flushes)
    if how == "delete":
        path.unlink()
    elif how == "move":
        path.rename(tmp_path / "moved.jsonl")
    else:
        path.write_text("")
    lm.train(model, opt, 4, seed=4)  # steps 4-7
    assert monitor.enabled and monitor.sinks and not monitor.reporter.failed_sinks
    monitor.close()
    records = _lines(path)
    kinds = [(r["kind"], r["step"]) for r in records]
    assert kinds[:2] == [("run", 4), ("gap", 4)]
    assert [s for k, s in kinds[2:]] == [4, 5, 6, 7]
    run, gap = records[0], records[1]
    assert run["continued"] is True and run["part"] == 2
    assert run["run"] == gap["run"] == monitor.sinks[0].run_id
    assert gap["missing_records"] == 4 and gap["missing_steps"] == [0, 3]
    assert gap["reason"].startswith("the file was")
    assert [r["step"] for r in read_jsonl(path, kind="step")] == [4, 5, 6, 7]
    assert monitor.history.totals.steps == 8


def test_a_rerun_appending_to_a_log_starts_a_new_marked_run_read_latest_by_default(lm, tmp_path):
    path = tmp_path / "grads.jsonl"
    for steps, run_id in ((3, "first"), (2, "second")):
        model, opt, monitor = _setup(lm, [JsonlSink(path, run_id=run_id)])
        lm.train(model, opt, steps)
        monitor.close()
    with path.open("a") as f:
        f.write('{"step": 9, "kind": "st')  # a crashed third run left half a line
    model, opt, monitor = _setup(lm, [JsonlSink(path, run_id="third")])
    lm.train(model, opt, 1)
    monitor.close()
    markers = [r["run"] for r in read_jsonl(path, kind="run", run=None)]
    assert markers == ["first", "second", "third"]  # the third marker is a line of its own
    assert [r["step"] for r in read_jsonl(path, kind="step")] == [0]  # latest run by default
    assert [r["step"] for r in read_jsonl(path, kind="step", run="first")] == [0, 1, 2]
    assert len(read_jsonl(path, kind="step", run=None)) == 6
    with pytest.raises(InvalidValue, match="run: 'fourth' is not allowed; \"latest\" or one of"):
        read_jsonl(path, run="fourth")


def test_every_sink_pickles_and_deep_copies_and_so_does_a_monitored_model(lm, tmp_path):
    jsonl = JsonlSink(tmp_path / "a.jsonl")
    tb = TensorBoardSink(tmp_path / "tb")
    model, opt, monitor = _setup(lm, [jsonl, tb, RichSummary()], profile_every=2)
    lm.train(model, opt, 3)  # the JSONL file and the event file are open now
    for sink in monitor.sinks:
        pickle.loads(pickle.dumps(sink))
        copy.deepcopy(sink)
    twin = copy.deepcopy(model)
    restored = pickle.loads(pickle.dumps(model))
    for other in (twin, restored):
        for a, b in zip(model.parameters(), other.parameters(), strict=True):
            assert torch.equal(a, b)
    lm.train(model, opt, 2, seed=3)  # the originals keep writing
    monitor.close()
    assert [r["step"] for r in read_jsonl(jsonl.path, kind="step")] == [0, 1, 2, 3, 4]


def test_the_loss_stays_on_the_device_until_the_flush_and_the_lr_is_read_from_param_groups(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    groups = [{"params": model.lstm.parameters(), "lr": 0.5}]
    groups.append({"params": [*model.embed.parameters(), *model.decoder.parameters()]})
    opt = torch.optim.SGD(groups, lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    monitor = Monitor(model, opt, profile_every=0, flush_every=10, warn=False)
    losses = []
    for i in range(3):
        opt.zero_grad()
        loss = lm.loss(model, seed=i)
        loss.backward()
        monitor.log(loss=loss)
        losses.append(loss.item())
        opt.step()
        sched.step()
    assert all(isinstance(m.loss, torch.Tensor) for m in monitor.reporter._steps)  # no sync yet
    monitor.flush()
    records = monitor.history
    assert records.series["loss"] == pytest.approx(losses, rel=1e-7)
    assert records.series["lr"] == [0.5, 0.25, 0.125]
    monitor.close()
    with pytest.raises(InvalidValue, match="loss: 'Tensor' is not allowed; a number or a one"):
        monitor.log(loss=torch.ones(3))


def test_step_without_an_optimizer_takes_the_loss_and_lr_as_log_does(lm):
    model = lm.TinyLM()
    monitor = Monitor(model, profile_every=0, warn=False)
    losses = []
    for i in range(2):
        model.zero_grad()
        loss = lm.loss(model, seed=i)
        loss.backward()
        monitor.step(loss=loss, lr=0.01 * (i + 1))
        losses.append(loss.item())
    monitor.flush()
    assert monitor.history.series["loss"] == pytest.approx(losses, rel=1e-7)
    assert monitor.history.series["lr"] == pytest.approx([0.01, 0.02])
    monitor.close()


def test_loss_and_lr_reach_the_jsonl_and_the_summary(lm, tmp_path):
    from rich.console import Console

    path = tmp_path / "g.jsonl"
    model, opt, monitor = _setup(lm, [str(path)])
    for i in range(2):
        opt.zero_grad()
        loss = lm.loss(model, seed=i)
        loss.backward()
        monitor.log(loss=loss)
        opt.step()
    monitor.close()
    steps = read_jsonl(path, kind="step")
    assert [s["lr"] for s in steps] == [[0.1], [0.1]] and steps[0]["loss"] > 0
    console = Console(record=True, width=100)
    monitor.summary(console=console)
    text = console.export_text()
    assert "loss" in text and "learning rate" in text


def test_the_profile_image_draws_g_against_lag_on_a_log_scale_for_every_layer(lm):
    import numpy as np

    from gradtrace.monitor.profile_image import profile_figure, profile_image

    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, profile_every=1, warn=False) as monitor:
        lm.train(model, opt, 1)
    rec = monitor.history.profiles[0]
    ax = profile_figure(rec).axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel().startswith("lag k")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"lstm.l0", "lstm.l1"}
    for layer in rec.profile["layers"]:
        g = np.asarray(layer["g"], dtype=np.float64)
        np.testing.assert_array_equal(lines[layer["name"]].get_ydata(), g[::-1])  # lag 0 = last
        np.testing.assert_array_equal(lines[layer["name"]].get_xdata(), np.arange(g.size))
    image = profile_image(rec)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_the_lightning_logger_sink_pickles_without_its_trainer():
    from gradtrace.lightning import LoggerSink

    sink = LoggerSink(trainer=lambda: None)  # a Trainer cannot be pickled; a lambda neither
    copy_ = pickle.loads(pickle.dumps(sink))
    assert copy_.trainer is None and copy_.prefix == "gradtrace/"


def test_a_tensor_learning_rate_is_recorded_as_it_was_on_each_step(lm):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01))
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.1)
    monitor = Monitor(model, opt, profile_every=0, flush_every=10, warn=False)
    for i in range(3):
        opt.zero_grad()
        lm.loss(model, seed=i).backward()
        opt.step()
        sched.step()  # changes the lr tensor in place, before the monitor flushes
    monitor.close()
    assert monitor.history.series["lr"] == pytest.approx([0.01, 0.001, 0.0001], rel=1e-6)
