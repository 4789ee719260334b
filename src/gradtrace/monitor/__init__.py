"""Always-on gradient health for PyTorch training loops: norms, alerts, profiles and sinks."""

from gradtrace.monitor.alerts import Alert, GradtraceWarning, NonFiniteGradient
from gradtrace.monitor.history import History
from gradtrace.monitor.jsonl import JsonlSink, read_jsonl
from gradtrace.monitor.mlflow_sink import MlflowSink
from gradtrace.monitor.monitor import Monitor
from gradtrace.monitor.records import ProfileRecord, StepRecord
from gradtrace.monitor.sinks import RichSummary, Sink
from gradtrace.monitor.summary import summary_table
from gradtrace.monitor.tensorboard import TensorBoardSink
from gradtrace.monitor.thresholds import Thresholds
from gradtrace.monitor.wandb_sink import WandbSink

__all__ = [
    "Alert",
    "GradtraceWarning",
    "History",
    "JsonlSink",
    "MlflowSink",
    "Monitor",
    "NonFiniteGradient",
    "ProfileRecord",
    "RichSummary",
    "Sink",
    "StepRecord",
    "TensorBoardSink",
    "Thresholds",
    "WandbSink",
    "read_jsonl",
    "summary_table",
]
