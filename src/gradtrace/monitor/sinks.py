"""Where monitor records go: a JSONL file, TensorBoard, a Rich table at the end."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import IO, Any

import numpy as np

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord, from_json_safe, json_safe


class Sink:
    """Base class: receives every record on the main process; override what you need."""

    def write_step(self, rec: StepRecord) -> None:
        """Called once per monitored step (in batches, when the monitor flushes)."""

    def write_profile(self, rec: ProfileRecord) -> None:
        """Called once per gradient-through-time profile."""

    def write_alert(self, alert: Alert) -> None:
        """Called for every alert shown to the user."""

    def flush(self) -> None:
        """Called after each batch of records."""

    def close(self, history: History) -> None:
        """Called once when the monitor closes, with everything it kept."""


class JsonlSink(Sink):
    """One JSON object per line, appended and flushed record by record (readable while training).

    Every line has "step" and "kind" ("step" | "profile" | "alert"); non-finite floats are
    written as the strings "nan", "inf", "-inf" so every line is valid JSON (``read_jsonl``
    turns them back).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def _write(self, kind: str, step: int, payload: dict) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        record = {"step": step, "kind": kind, **json_safe(payload)}
        record["step"], record["kind"] = step, kind
        self._file.write(json.dumps(record, allow_nan=False) + "\n")
        self._file.flush()

    def write_step(self, rec: StepRecord) -> None:
        """Append a "step" line."""
        self._write("step", rec.step, rec.to_dict())

    def write_profile(self, rec: ProfileRecord) -> None:
        """Append a "profile" line."""
        self._write("profile", rec.step, rec.to_dict())

    def write_alert(self, alert: Alert) -> None:
        """Append an "alert" line (with its full message)."""
        fields = alert.to_dict()
        # the line's "kind" is "alert"; the alert's own kind (exploding, vanishing, ...) is "alert"
        self._write(
            "alert", alert.step, {**fields, "alert": fields.get("kind"), "message": alert.message}
        )

    def close(self, history: History) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def read_jsonl(path: str | Path, *, kind: str | None = None) -> list[dict]:
    """Read a monitor's JSONL file (optionally only one kind), non-finite floats restored.

    A last line cut short by a writer that is still running is ignored.
    """
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if kind is None or record.get("kind") == kind:
            records.append(from_json_safe(record))
    return records


class TensorBoardSink(Sink):
    """Scalars and histograms for TensorBoard (needs the ``tensorboard`` package).

    Scalars per step: grad_norm/global, grad_norm/global_clipped, grad_norm/layer/<name>,
    clip/clipped, nonfinite/count, subnormal/fraction. Every ``histogram_every`` steps a histogram
    of log10 of the per-parameter norms; per profile, log10 g_t per recurrent layer and its
    decay factor and horizon. Non-finite values are counted in nonfinite/count and left out of
    histograms, so a nan never reaches TensorBoard's histogram code.
    """

    def __init__(
        self, log_dir: str | Path | None = None, *, writer: Any = None, histogram_every: int = 10
    ) -> None:
        if writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise ImportError(
                    "TensorBoardSink needs tensorboard: pip install 'gradtrace[tensorboard]'"
                ) from e
            writer = SummaryWriter(log_dir=None if log_dir is None else str(log_dir))
        self.writer = writer
        self.histogram_every = max(1, int(histogram_every))

    def write_step(self, rec: StepRecord) -> None:
        """Write the step's scalars (and a histogram on every ``histogram_every``-th step)."""
        w, step = self.writer, rec.step
        for tag, value in (
            ("grad_norm/global", rec.global_norm),
            ("grad_norm/global_clipped", rec.global_norm_clipped),
            ("subnormal/fraction", rec.subnormal_fraction),
        ):
            if math.isfinite(value):
                w.add_scalar(tag, value, step)
        for layer, value in rec.layers.items():
            if math.isfinite(value):
                w.add_scalar(f"grad_norm/layer/{layer}", value, step)
        w.add_scalar("clip/clipped", float(rec.clipped), step)
        w.add_scalar("nonfinite/count", float(len(rec.nonfinite)), step)
        if step % self.histogram_every == 0:
            norms = [v for v in rec.params.values() if v is not None]
            self._histogram("grad_norm/log10_param", norms, step)

    def write_profile(self, rec: ProfileRecord) -> None:
        """Write each recurrent layer's profile as a histogram and its summary as scalars."""
        for layer in rec.profile.get("layers", []):
            name = layer.get("name", "layer")
            g = from_json_safe(layer.get("g") or [])
            self._histogram(f"profile/{name}/log10_g", g, rec.step)
        for row in rec.layers:
            name = row.get("name", "layer")
            for key in ("decay_factor", "horizon"):
                value = row.get(key)
                if isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(f"profile/{name}/{key}", float(value), rec.step)

    def write_alert(self, alert: Alert) -> None:
        """Write the alert's message as text."""
        self.writer.add_text("alerts", alert.message, alert.step)

    def _histogram(self, tag: str, values: Any, step: int) -> None:
        array = np.asarray(values, dtype=np.float64)
        array = array[np.isfinite(array) & (array > 0)]
        if array.size:
            self.writer.add_histogram(tag, np.log10(array), step)

    def flush(self) -> None:
        """Flush the event file."""
        self.writer.flush()

    def close(self, history: History) -> None:
        """Close the event file."""
        self.writer.close()


class RichSummary(Sink):
    """Prints the monitor's summary table (see ``gradtrace.monitor.summary``) when it closes."""

    def __init__(self, console: Any = None) -> None:
        self.console = console

    def close(self, history: History) -> None:
        """Print the table."""
        from gradtrace.monitor.summary import print_summary

        print_summary(history, console=self.console)
