"""The TensorBoard sink: scalars per step and per profile, and each profile as an image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.scalars import profile_scalars, step_scalars
from gradtrace.monitor.sinks import Sink


class TensorBoardSink(Sink):
    """Scalars, histograms and profile images for TensorBoard (needs the ``tensorboard`` package).

    Scalars per step: those of ``gradtrace.monitor.scalars.step_scalars`` (norms, clipping,
    non-finite count, subnormal fraction, loss and learning rate when the monitor has them).
    Every ``histogram_every`` steps a histogram of log10 of the per-parameter norms. Per profile:
    the scalars of ``profile_scalars`` (horizon, gamma_hat and verdict per layer) and an image
    ``profile/g_by_lag`` of g against lag on a log scale (TensorBoard's Images tab, one per
    profile step). Non-finite values are left out of scalars and histograms.

    Args:
        log_dir: the event folder (None: TensorBoard's default, runs/<date>).
        writer: an existing ``SummaryWriter`` to write to instead.
        histogram_every: steps between histograms of the per-parameter norms.
        images: also write each profile as an image (default True).
    """

    def __init__(
        self,
        log_dir: str | Path | None = None,
        *,
        writer: Any = None,
        histogram_every: int = 10,
        images: bool = True,
    ) -> None:
        self.log_dir = None if log_dir is None else str(log_dir)
        if writer is None:
            writer = _summary_writer(self.log_dir)
        self.log_dir = self.log_dir or getattr(writer, "log_dir", None)
        self.writer = writer
        self.histogram_every = max(1, int(histogram_every))
        self.images = bool(images)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["writer"] = None  # an event writer holds a file and a thread; the copy reopens
        return state

    def _w(self) -> Any:
        if self.writer is None:
            self.writer = _summary_writer(self.log_dir)
        return self.writer

    def write_step(self, rec: StepRecord) -> None:
        """Write the step's scalars (and a histogram on every ``histogram_every``-th step)."""
        w = self._w()
        for tag, value in step_scalars(rec).items():
            w.add_scalar(tag, value, rec.step)
        if rec.step % self.histogram_every == 0:
            norms = [v for v in rec.params.values() if v is not None]
            self._histogram("grad_norm/log10_param", norms, rec.step)

    def write_profile(self, rec: ProfileRecord) -> None:
        """Write the profile's scalars and its image."""
        w = self._w()
        for tag, value in profile_scalars(rec).items():
            w.add_scalar(tag, value, rec.step)
        if self.images:
            from gradtrace.monitor.profile_image import profile_image

            w.add_image("profile/g_by_lag", profile_image(rec), rec.step, dataformats="HWC")

    def write_alert(self, alert: Alert) -> None:
        """Write the alert's message as text."""
        self._w().add_text("alerts", alert.message, alert.step)

    def _histogram(self, tag: str, values: Any, step: int) -> None:
        array = np.asarray(values, dtype=np.float64)
        array = array[np.isfinite(array) & (array > 0)]
        if array.size:
            self._w().add_histogram(tag, np.log10(array), step)

    def flush(self) -> None:
        """Flush the event file."""
        if self.writer is not None:
            self.writer.flush()

    def close(self, history: History) -> None:
        """Close the event file."""
        if self.writer is not None:
            self.writer.close()


def _summary_writer(log_dir: str | None) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "TensorBoardSink needs tensorboard: pip install 'gradtrace[tensorboard]'"
        ) from e
    return SummaryWriter(log_dir=log_dir)
