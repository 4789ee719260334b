"""Always-on gradient health for PyTorch training loops: norms, alerts, profiles and sinks."""

from gradtrace.monitor.alerts import Alert, GradtraceWarning, NonFiniteGradient
from gradtrace.monitor.history import History
from gradtrace.monitor.monitor import Monitor
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.sinks import JsonlSink, RichSummary, Sink, TensorBoardSink, read_jsonl
from gradtrace.monitor.summary import summary_table
from gradtrace.monitor.thresholds import Thresholds

__all__ = [
    "Alert",
    "GradtraceWarning",
    "History",
    "JsonlSink",
    "Monitor",
    "NonFiniteGradient",
    "ProfileRecord",
    "RichSummary",
    "Sink",
    "StepRecord",
    "TensorBoardSink",
    "Thresholds",
    "read_jsonl",
    "summary_table",
]
