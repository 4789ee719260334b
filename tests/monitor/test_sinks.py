"""Sinks write what the monitor measured: JSONL and TensorBoard files read back, Rich summary."""

from __future__ import annotations

import json
import math

import pytest
import torch
from rich.console import Console

from gradtrace.monitor import (
    JsonlSink,
    Monitor,
    RichSummary,
    TensorBoardSink,
    read_jsonl,
    summary_table,
)
from gradtrace.monitor.records import StepRecord, json_safe
from gradtrace.monitor.scalars import VERDICT_CODES


def _run_with_nan(lm, sinks, steps=4, nan_step=3):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, sinks=sinks, profile_every=0, flush_every=2, warn=False) as monitor:
        for i in range(steps):
            opt.zero_grad()
            lm.loss(model, seed=i).backward()
            if i == nan_step:
                model.decoder.weight.grad[0, 0] = math.nan
                model.embed.weight.grad[0, 0] = math.inf
            opt.step()
    return monitor


def test_jsonl_lines_are_valid_json_with_step_kind_and_safe_non_finite_values(lm, tmp_path):
    path = tmp_path / "run" / "grads.jsonl"
    monitor = _run_with_nan(lm, [str(path)])
    lines = path.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # strict JSON: no bare NaN
    kinds = [(r["step"], r["kind"]) for r in records]
    assert kinds == [(0, "run"), (0, "step"), (1, "step"), (2, "step"), (3, "step"), (3, "alert")]
    assert records[0]["run"] == monitor.sinks[0].run_id
    records = records[1:]
    bad = records[3]
    assert bad["global_norm"] == "nan"
    assert bad["layers"]["decoder"] == "nan" and bad["layers"]["embed"] == "inf"
    assert bad["nonfinite"] == ["embed.weight", "decoder.weight"]
    alert = records[4]
    assert alert["kind"] == "alert" and alert["where"] == "global"
    assert alert["message"].startswith("step 3: non-finite gradient in global: nan/inf in 2 ")
    assert "(embed.weight, decoder.weight)" in alert["message"]
    steps = read_jsonl(path, kind="step")
    assert math.isnan(steps[3]["global_norm"]) and steps[3]["layers"]["embed"] == math.inf
    assert [s["global_norm"] for s in steps[:2]] == monitor.history.series["global_norm"][:2]
    restored = StepRecord.from_dict(steps[1])
    assert restored.step == 1 and restored.layers["lstm.l0"] > 0


def test_jsonl_is_readable_while_training_runs(lm, tmp_path):
    path = tmp_path / "live.jsonl"
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, opt, sinks=[JsonlSink(path)], profile_every=0, flush_every=2)
    lm.train(model, opt, 4)
    steps = [r["step"] for r in read_jsonl(path, kind="step")]
    assert steps == [0, 1, 2, 3]  # before close: flushed lines
    with path.open("a") as f:
        f.write('{"step": 4, "kind": "st')  # a line being written right now
    assert len(read_jsonl(path, kind="step")) == 4
    monitor.close()


def test_json_safe_turns_numpy_and_non_finite_values_into_plain_json():
    import numpy as np

    value = {"a": np.float32(1.5), "b": np.array([1.0, np.nan]), "c": (-math.inf, 2)}
    assert json.dumps(json_safe(value), allow_nan=False) == (
        '{"a": 1.5, "b": [1.0, "nan"], "c": ["-inf", 2]}'
    )


def test_tensorboard_scalars_histograms_and_non_finite_counts_read_back(lm, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    sink = TensorBoardSink(tmp_path, histogram_every=1)
    monitor = _run_with_nan(lm, [sink])
    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    norms = events.Scalars("grad_norm/global")
    assert [e.step for e in norms] == [0, 1, 2]  # the nan of step 3 is not a scalar
    expected = [v for v in monitor.history.series["global_norm"] if math.isfinite(v)]
    assert [e.value for e in norms] == pytest.approx(expected, rel=1e-6)
    counts = {e.step: e.value for e in events.Scalars("nonfinite/count")}
    assert counts == {0: 0.0, 1: 0.0, 2: 0.0, 3: 2.0}
    assert "grad_norm/layer/lstm.l1" in tags["scalars"]
    histograms = events.Histograms("grad_norm/log10_param")
    assert [h.step for h in histograms] == [0, 1, 2, 3]
    n_params = len(monitor.index.names)
    assert [h.histogram_value.num for h in histograms] == [n_params] * 3 + [n_params - 2]


def test_tensorboard_gets_each_profile_as_an_image_and_horizon_gamma_verdict_scalars(lm, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with Monitor(model, opt, sinks=[TensorBoardSink(tmp_path)], profile_every=2) as monitor:
        lm.train(model, opt, 3)
    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    images = events.Images("profile/g_by_lag")
    assert [i.step for i in images] == [0, 2] and images[0].width > 100
    assert not any("log10_g" in tag for tag in events.Tags()["histograms"])  # the lag axis stays
    rows = {row["name"]: row for row in monitor.history.profiles[1].layers}
    for name, row in rows.items():
        gamma = events.Scalars(f"profile/{name}/gamma_hat")
        assert gamma[1].step == 2 and gamma[1].value == pytest.approx(row["decay_factor"], rel=1e-6)
        horizon = events.Scalars(f"profile/{name}/horizon")[1].value
        assert horizon == (row["seq_len"] if row["horizon"] is None else row["horizon"])
        verdict = events.Scalars(f"profile/{name}/verdict")[1].value
        assert verdict == VERDICT_CODES[row["verdict"]]
    overall = events.Scalars("profile/verdict")[1].value
    assert overall == VERDICT_CODES[monitor.history.profiles[1].verdict]


def test_rich_summary_prints_a_row_per_layer_when_the_monitor_closes(lm):
    console = Console(record=True, width=120)
    monitor = _run_with_nan(lm, [RichSummary(console)])
    text = " ".join(console.export_text().split())
    for row in ("global (raw)", "global (clipped)", "embed", "lstm.l0", "lstm.l1", "decoder"):
        assert row in text
    assert "non-finite steps 1" in text and "alerts: non-finite 1" in text
    again = Console(record=True, width=120)
    assert monitor.summary(console=again) is None  # printed once, nothing to display twice
    assert summary_table(monitor.history).row_count == 7  # six norms, then the learning rate
    assert "lstm.l1" in again.export_text() and "learning rate" in text
