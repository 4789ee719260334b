"""The Lightning callback measures raw and clipped norms in a Trainer and logs them."""

from __future__ import annotations

import logging

import pytest
import torch

pl = pytest.importorskip("lightning.pytorch")
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*")

from gradtrace.lightning import GradtraceCallback  # noqa: E402
from gradtrace.monitor import read_jsonl  # noqa: E402


class LitLM(pl.LightningModule):
    """The tiny language model of the other tests inside a LightningModule."""

    def __init__(self, lm) -> None:
        super().__init__()
        self.net = lm.TinyLM()
        self.lm = lm

    def training_step(self, batch, batch_idx):
        return self.lm.loss(self.net, seed=int(batch[0]))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class Reference(pl.Callback):
    """Brute force: the total norm before Lightning clips, and after the step."""

    def __init__(self) -> None:
        self.raw, self.clipped = [], []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.raw.append(torch.nn.utils.get_total_norm([p.grad for p in pl_module.parameters()]))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        grads = [p.grad for p in pl_module.parameters()]
        self.clipped.append(torch.nn.utils.get_total_norm(grads))


def _fit(lm, tmp_path, callback, **trainer_options):
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    reference = Reference()
    trainer = pl.Trainer(
        max_steps=5,
        accelerator="cpu",
        logger=pl.loggers.CSVLogger(tmp_path, name="csv"),
        callbacks=[reference, callback],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        limit_val_batches=0,
        log_every_n_steps=1,
        default_root_dir=tmp_path,
        **trainer_options,
    )
    data = torch.utils.data.DataLoader(torch.arange(5).float(), batch_size=1)
    torch.manual_seed(0)
    trainer.fit(LitLM(lm), data)
    return reference, trainer


def test_callback_records_norms_before_and_after_lightnings_clipping(lm, tmp_path):
    path = tmp_path / "grads.jsonl"
    callback = GradtraceCallback(profile_every=0, sinks=[str(path)], flush_every=2)
    reference, trainer = _fit(lm, tmp_path, callback, gradient_clip_val=0.01)
    history = callback.monitor.history
    assert history.steps == [0, 1, 2, 3, 4]
    assert history.series["global_norm"] == [t.item() for t in reference.raw]
    assert history.series["global_norm_clipped"] == pytest.approx(
        [t.item() for t in reference.clipped], rel=1e-6
    )
    assert all(raw > 0.01 for raw in history.series["global_norm"])
    assert history.series["global_norm_clipped"] == pytest.approx([0.01] * 5, rel=1e-4)
    assert history.totals.clip_rate == 1.0
    assert [r["step"] for r in read_jsonl(path, kind="step")] == [0, 1, 2, 3, 4]
    assert not callback.monitor.enabled  # closed at the end of fit
    assert not trainer.optimizers[0]._optimizer_step_post_hooks


def test_callback_sends_norms_to_the_trainers_logger(lm, tmp_path):
    callback = GradtraceCallback(profile_every=0)
    _, trainer = _fit(lm, tmp_path, callback)
    trainer.logger.save()
    metrics = (tmp_path / "csv" / "version_0" / "metrics.csv").read_text()
    header = metrics.splitlines()[0].split(",")
    assert "gradtrace/grad_norm" in header and "gradtrace/grad_norm/net.lstm.l1" in header


def test_callback_opens_profiles_before_training_step_runs_the_forward(lm, tmp_path):
    callback = GradtraceCallback(profile_every=2)
    _fit(lm, tmp_path, callback)
    profiles = callback.monitor.history.profiles
    # training_step calls self.net, so the module's forward pre-hook never fires: the callback's
    # on_train_batch_start opened these traces
    assert [p.step for p in profiles] == [0, 2, 4]
    assert [row["name"] for row in profiles[0].layers] == ["net.lstm.l0", "net.lstm.l1"]


def test_callback_rejects_an_optimizer_option():
    with pytest.raises(TypeError, match="optimizers itself"):
        GradtraceCallback(optimizer=None)


class ManualLM(LitLM):
    """Manual optimization: the module steps its optimizer and clips on its own."""

    def __init__(self, lm) -> None:
        super().__init__(lm)
        self.automatic_optimization = False

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(self.lm.loss(self.net, seed=int(batch[0])))
        self.clip_gradients(opt, gradient_clip_val=0.01, gradient_clip_algorithm="norm")
        opt.step()


def test_manual_optimization_records_each_step_with_the_modules_own_clipping(lm, tmp_path):
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    callback = GradtraceCallback(profile_every=2)
    trainer = pl.Trainer(
        max_steps=4,
        accelerator="cpu",
        logger=False,
        callbacks=[callback],
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
    )
    torch.manual_seed(0)
    trainer.fit(ManualLM(lm), torch.utils.data.DataLoader(torch.arange(4).float(), batch_size=1))
    history = callback.monitor.history
    assert history.steps == [0, 1, 2, 3]
    assert history.series["global_norm_clipped"] == pytest.approx([0.01] * 4, rel=1e-4)
    assert all(raw > 0.01 for raw in history.series["global_norm"])
    assert [p.step for p in history.profiles] == [0, 2]
