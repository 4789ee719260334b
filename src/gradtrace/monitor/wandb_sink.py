"""The Weights & Biases sink: the monitor's scalars and profile images in a W&B run.

Every key is prefixed (``gradtrace/`` by default) and plotted against its own x-axis,
``gradtrace/step``, declared with ``define_metric``: the monitor writes profiles after the
steps of a flush, and W&B drops values logged at a step lower than its last one. Works offline
(``WANDB_MODE=offline`` or ``mode="offline"``); ``wandb`` is imported only when the sink is made.
"""

from __future__ import annotations

from typing import Any

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.scalars import profile_scalars, step_scalars
from gradtrace.monitor.sinks import Sink


class WandbSink(Sink):
    """Logs norms, loss, learning rate, horizon, gamma_hat, verdict and profile images to W&B.

    Args:
        run: a ``wandb`` run to log into (left open on close); None: the active ``wandb.run``
            when there is one and no ``init_options``, else a new run from
            ``wandb.init(**init_options)`` (finished on close).
        prefix: put in front of every key.
        images: also log each profile as an image (``<prefix>profile/g_by_lag``).
        **init_options: passed to ``wandb.init`` (project, dir, mode, name, config, ...).

    A copy (pickle, deepcopy) logs nothing: a W&B run cannot be moved to another process.
    """

    def __init__(
        self, run: Any = None, *, prefix: str = "gradtrace/", images: bool = True, **init_options
    ) -> None:
        wandb = _import_wandb()
        if run is None and not init_options and wandb.run is not None:
            run = wandb.run  # the user's own active run: log into it, leave it open
        self._owned = run is None
        self.run = wandb.init(**init_options) if run is None else run
        self.prefix = prefix
        self.images = bool(images)
        self.run.define_metric(prefix + "step")
        self.run.define_metric(prefix + "*", step_metric=prefix + "step")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "run": None, "_owned": False}

    def _log(self, step: int, metrics: dict[str, Any]) -> None:
        if self.run is not None:
            p = self.prefix
            self.run.log({p + "step": step, **{p + k: v for k, v in metrics.items()}})

    def write_step(self, rec: StepRecord) -> None:
        """Log the step's scalars."""
        self._log(rec.step, step_scalars(rec))

    def write_profile(self, rec: ProfileRecord) -> None:
        """Log the profile's scalars (and image); the verdict also goes in the run summary."""
        if self.run is None:
            return
        metrics: dict[str, Any] = dict(profile_scalars(rec))
        if self.images:
            import wandb

            from gradtrace.monitor.profile_image import profile_image

            caption = f"step {rec.step}: {rec.verdict}"
            metrics["profile/g_by_lag"] = wandb.Image(profile_image(rec), caption=caption)
        self._log(rec.step, metrics)
        self.run.summary[self.prefix + "verdict_text"] = rec.verdict

    def write_alert(self, alert: Alert) -> None:
        """Count alerts by kind in the run summary (the message goes to the run's log)."""
        if self.run is None:
            return
        key = f"{self.prefix}alerts/{alert.kind}"
        self.run.summary[key] = int(self.run.summary.get(key, 0) or 0) + 1

    def close(self, history: History) -> None:
        """Finish the run if this sink started it."""
        if self.run is not None and self._owned:
            self.run.finish()
        self.run = None


def _import_wandb() -> Any:
    try:
        import wandb
    except ImportError as e:
        raise ImportError("WandbSink needs wandb: pip install 'gradtrace[wandb]'") from e
    return wandb
