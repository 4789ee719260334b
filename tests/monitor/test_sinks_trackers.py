"""Trackers get the per-lag signal: W&B (offline), MLflow (a local sqlite store), Lightning.

Each test trains the tiny LM with profiles and reads back from the tracker's own store: the
norms, loss and learning rate per step, and per profile horizon, gamma_hat, the verdict and an
image of g against lag.
"""

from __future__ import annotations

import copy
import csv
import json
import pickle
import struct
import time

import pytest
import torch

from gradtrace.monitor import MlflowSink, Monitor, WandbSink
from gradtrace.monitor.scalars import VERDICT_CODES


def _train(lm, sinks, steps=3):
    torch.manual_seed(0)
    model = lm.TinyLM()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, opt, sinks=sinks, profile_every=2, flush_every=2, warn=False)
    losses = []
    for i in range(steps):
        opt.zero_grad()
        loss = lm.loss(model, seed=i)
        loss.backward()
        monitor.log(loss=loss)
        losses.append(loss.item())
        opt.step()
    return monitor, losses


def _expected_profile(monitor, step):
    """What every tracker must show for the profile taken on ``step``."""
    rec = next(p for p in monitor.history.profiles if p.step == step)
    out = {"profile/verdict": VERDICT_CODES[rec.verdict]}
    for row in rec.layers:
        name, horizon = row["name"], row["horizon"]
        out[f"profile/{name}/gamma_hat"] = row["decay_factor"]
        out[f"profile/{name}/horizon"] = row["seq_len"] if horizon is None else horizon
        out[f"profile/{name}/verdict"] = VERDICT_CODES[row["verdict"]]
    return out


def _wandb_history(path, *, wait_s=60.0):
    """The history rows of an offline W&B run file, once its exit record is written.

    wandb's core process writes the file on its own; ``run.finish()`` may return first.
    """
    deadline = time.monotonic() + wait_s
    while True:
        rows, done = _wandb_records(path)
        if done or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def _wandb_records(path):
    """(history rows, exit seen) of a W&B run file (a LevelDB-style log of protobuf records)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, rows, done = path.read_bytes(), [], False
    assert data[:4] == b":W&B"
    pos, block, chunk = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if left < 7 or (length == 0 and kind == 0):  # block trailer
            pos += left
            continue
        if pos + 7 + length > len(data):  # still being written: read again later
            break
        chunk += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(chunk)
            chunk = b""
            done = done or record.WhichOneof("record_type") == "exit"
            if record.WhichOneof("record_type") == "history":
                items = record.history.item
                rows.append(
                    {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}
                )
    return rows, done


def test_wandb_offline_run_gets_norms_loss_lr_horizon_gamma_verdict_and_images(
    lm, tmp_path, monkeypatch
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    sink = WandbSink(project="gradtrace-test", dir=str(tmp_path))
    monitor, losses = _train(lm, [sink])
    pickle.loads(pickle.dumps(sink))  # a copy is inert, the original keeps logging
    copy.deepcopy(sink)
    monitor.close()
    (run_file,) = tmp_path.glob("wandb/offline-run-*/run-*.wandb")
    rows = _wandb_history(run_file)
    steps = [r for r in rows if "gradtrace/grad_norm/global" in r]
    assert [r["gradtrace/step"] for r in steps] == [0, 1, 2]
    assert [r["gradtrace/loss"] for r in steps] == pytest.approx(losses, rel=1e-6)
    assert [r["gradtrace/lr"] for r in steps] == [0.1, 0.1, 0.1]
    assert [r["gradtrace/grad_norm/global"] for r in steps] == pytest.approx(
        monitor.history.series["global_norm"], rel=1e-6
    )
    profiles = [r for r in rows if "gradtrace/profile/verdict" in r]
    assert [r["gradtrace/step"] for r in profiles] == [0, 2]  # after step 1: own x-axis
    for row in profiles:
        for key, value in _expected_profile(monitor, row["gradtrace/step"]).items():
            assert row["gradtrace/" + key] == pytest.approx(value, rel=1e-6), key
        assert row["gradtrace/profile/g_by_lag/_type"] == "image-file"
        assert (run_file.parent / "files" / row["gradtrace/profile/g_by_lag/path"]).is_file()


def test_mlflow_sqlite_store_gets_metrics_verdict_tags_and_profile_images(
    lm, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # artifacts of a sqlite store go to ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sink = MlflowSink(uri, experiment="gradtrace-test", run_name="tiny")
    monitor, losses = _train(lm, [sink])
    pickle.loads(pickle.dumps(sink))
    monitor.close()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(sink.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"

    def history(key):
        return [
            (m.step, m.value) for m in client.get_metric_history(sink.run_id, "gradtrace/" + key)
        ]

    assert history("loss") == [(i, pytest.approx(v, rel=1e-6)) for i, v in enumerate(losses)]
    assert history("lr") == [
        (0, pytest.approx(0.1)),
        (1, pytest.approx(0.1)),
        (2, pytest.approx(0.1)),
    ]
    for step in (0, 2):
        for key, value in _expected_profile(monitor, step).items():
            assert dict(history(key))[step] == pytest.approx(value, rel=1e-6), key
    assert run.data.tags["gradtrace/verdict"] == monitor.history.profiles[-1].verdict
    images = [a.path for a in client.list_artifacts(sink.run_id, "images")]
    assert sum(p.endswith(".png") and "g_by_lag+step+2+" in p for p in images) == 1


def test_lightning_logger_gets_horizon_gamma_and_verdict_beside_the_norms(lm, tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    import logging

    from gradtrace.lightning import GradtraceCallback

    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = lm.TinyLM()

        def training_step(self, batch, batch_idx):
            return lm.loss(self.net, seed=int(batch[0]))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    callback = GradtraceCallback(profile_every=2, flush_every=2)
    trainer = pl.Trainer(
        max_steps=3, accelerator="cpu", logger=pl.loggers.CSVLogger(tmp_path, name="csv"),
        callbacks=[callback], enable_progress_bar=False, enable_model_summary=False,
        enable_checkpointing=False, limit_val_batches=0, log_every_n_steps=1,
        default_root_dir=tmp_path,
    )  # fmt: skip
    torch.manual_seed(0)
    trainer.fit(Lit(), torch.utils.data.DataLoader(torch.arange(3).float(), batch_size=1))
    trainer.logger.save()
    with (tmp_path / "csv" / "version_0" / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    monitor = callback.monitor
    for key, value in _expected_profile(monitor, 2).items():
        logged = [
            float(r["gradtrace/" + key])
            for r in rows
            if r["step"] == "2" and r.get("gradtrace/" + key)
        ]
        assert logged == [pytest.approx(value, rel=1e-6)], key
    assert (
        monitor.history.series["lr"] == [0.1, 0.1, 0.1] and len(monitor.history.series["loss"]) == 3
    )
