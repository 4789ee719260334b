"""Where monitor records go: the Sink base class, the Rich summary, and every sink by name.

A sink that raises is switched off alone by the monitor (one logged error); the others and the
monitor carry on. Sinks hold no reference to the model, and each one pickles and deep-copies
(live handles such as open files and tracker runs are dropped and reopened lazily).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.records import ProfileRecord, StepRecord

if TYPE_CHECKING:
    from gradtrace.monitor.jsonl import JsonlSink, read_jsonl
    from gradtrace.monitor.mlflow_sink import MlflowSink
    from gradtrace.monitor.tensorboard import TensorBoardSink
    from gradtrace.monitor.wandb_sink import WandbSink

__all__ = [
    "JsonlSink",
    "MlflowSink",
    "RichSummary",
    "Sink",
    "TensorBoardSink",
    "WandbSink",
    "read_jsonl",
]

_LAZY = {
    "JsonlSink": "gradtrace.monitor.jsonl",
    "read_jsonl": "gradtrace.monitor.jsonl",
    "TensorBoardSink": "gradtrace.monitor.tensorboard",
    "WandbSink": "gradtrace.monitor.wandb_sink",
    "MlflowSink": "gradtrace.monitor.mlflow_sink",
}


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


class RichSummary(Sink):
    """Prints the monitor's summary table (see ``gradtrace.monitor.summary``) when it closes."""

    def __init__(self, console: Any = None) -> None:
        self.console = console

    def close(self, history: History) -> None:
        """Print the table."""
        from gradtrace.monitor.summary import print_summary

        print_summary(history, console=self.console)

    def __getstate__(self) -> dict[str, Any]:
        return {"console": None}  # a console holds a stream; the copy prints to stderr


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
