"""Lightning integration: ``GradtraceCallback`` runs a gradtrace Monitor inside a ``Trainer``.

Lightning runs ``on_before_optimizer_step`` after backward and *before* its own gradient
clipping (``Trainer(gradient_clip_val=...)``), then the optimizer step. So the callback measures
the raw gradients in ``on_before_optimizer_step`` and the clipped ones in a step post-hook on
each optimizer (the optimizer step does not change ``.grad``). Profiles are opened in
``on_train_batch_start``, before ``training_step`` runs the forward. Records also go to the
Trainer's loggers; under DDP only rank 0 writes. Lightning is an optional extra: importing
``GradtraceCallback`` without it raises an ImportError that says what to install.
"""

from __future__ import annotations

import math
from typing import Any

from gradtrace.monitor import Monitor, Sink
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.scalars import profile_scalars

__all__ = ["GradtraceCallback", "LoggerSink"]  # noqa: F822 - GradtraceCallback is built on first use


class LoggerSink(Sink):
    """Writes each step's norms, and each profile's horizon, gamma_hat and verdict (see
    ``gradtrace.monitor.scalars``), to a Lightning Trainer's loggers (``log_metrics``)."""

    def __init__(self, trainer: Any, *, prefix: str = "gradtrace/") -> None:
        self.trainer = trainer
        self.prefix = prefix

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "trainer": None}  # a copy never pickles the Trainer

    def write_step(self, rec: StepRecord) -> None:
        """Log the global norms, the per-layer norms, the clip flag and the non-finite count."""
        metrics = {
            "grad_norm": rec.global_norm,
            "grad_norm_clipped": rec.global_norm_clipped,
            **{f"grad_norm/{layer}": value for layer, value in rec.layers.items()},
        }
        metrics = {self.prefix + k: v for k, v in metrics.items() if math.isfinite(v)}
        metrics[self.prefix + "clipped"] = float(rec.clipped)
        metrics[self.prefix + "nonfinite"] = float(len(rec.nonfinite))
        self._log(metrics, rec.step)

    def write_profile(self, rec: ProfileRecord) -> None:
        """Log profile/verdict and profile/<layer>/{horizon, gamma_hat, verdict, ...}."""
        self._log({self.prefix + k: v for k, v in profile_scalars(rec).items()}, rec.step)

    def _log(self, metrics: dict[str, float], step: int) -> None:
        for logger in [] if self.trainer is None else self.trainer.loggers:
            logger.log_metrics(metrics, step=step)


def _load_lightning() -> Any:
    try:
        import lightning.pytorch as pl
    except ImportError:
        try:
            import pytorch_lightning as pl
        except ImportError as e:
            raise ImportError(
                "gradtrace.lightning needs Lightning: pip install 'gradtrace[lightning]'"
            ) from e
    return pl


def _build_callback() -> type:
    pl = _load_lightning()

    class GradtraceCallback(pl.Callback):
        """Monitors the LightningModule's gradients on every optimizer step.

        Takes the keyword options of ``gradtrace.Monitor`` (clip, profile_every, on_nonfinite,
        sinks, thresholds, ...) plus ``log_to_trainer`` (default True: also send the norms to
        the Trainer's loggers). The Monitor is ``callback.monitor`` once fitting has started.
        """

        def __init__(self, *, log_to_trainer: bool = True, **monitor_options: Any) -> None:
            if "optimizer" in monitor_options:
                raise TypeError("GradtraceCallback hooks the Trainer's optimizers itself")
            self.log_to_trainer = log_to_trainer
            self.options = monitor_options
            self.monitor: Monitor | None = None
            self._handles: list[Any] = []

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            sinks = list(self.options.get("sinks", ()))
            if self.log_to_trainer and trainer.loggers:
                sinks.append(LoggerSink(trainer))
            options = {**self.options, "sinks": sinks}
            self.monitor = Monitor(pl_module, None, **options)
            for optimizer in trainer.optimizers:
                self._handles.append(optimizer.register_step_post_hook(self._after_step))

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
            if self.monitor is not None and self.monitor.enabled:
                self.monitor.profiler.start_if_due()

        def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
            if self.monitor is not None:  # raw norms were taken when the backward ended
                self.monitor.collect_profile()  # before the optimizer changes the parameters

        def on_before_backward(self, trainer: Any, pl_module: Any, loss: Any) -> None:
            if self.monitor is not None:
                self.monitor.log(loss=loss)  # stays on the device until the monitor flushes

        def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
            if self.monitor is not None:
                self.monitor.log(lr=[group["lr"] for group in optimizer.param_groups])
                self.monitor.step()  # re-measures the clipped gradients and records the step

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            self._close()

        def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
            self._close()

        def _close(self) -> None:
            for handle in self._handles:
                handle.remove()
            self._handles.clear()
            if self.monitor is not None:
                self.monitor.close()

    GradtraceCallback.__module__ = __name__
    return GradtraceCallback


def __getattr__(name: str) -> Any:
    if name == "GradtraceCallback":
        callback = _build_callback()
        globals()[name] = callback
        return callback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
