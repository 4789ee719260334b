"""What a worker does for one run: call the run function, capture any error, time it."""

from __future__ import annotations

import importlib
import math
import os
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

RunFn = Callable[[dict[str, Any]], dict[str, Any]]

DEFAULT_RUN_FN = "gradtrace.study.worker:train_run"
STATUSES = ("solved", "unsolved", "out_of_time", "diverged", "failed")


def resolve_run_fn(run_fn: str | RunFn) -> RunFn:
    """A run function from a callable or a ``"module:attribute"`` path."""
    if callable(run_fn):
        return run_fn
    module_name, _, attribute = str(run_fn).partition(":")
    if not module_name or not attribute:
        raise ValueError(f"run_fn: {run_fn!r} is not allowed; give 'module:function'")
    return getattr(importlib.import_module(module_name), attribute)


def worker_name() -> str:
    """``host:pid`` of the current process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_one(run_fn: str | RunFn, config: dict[str, Any]) -> dict[str, Any]:
    """Run one config; never raises: an exception becomes status "failed" with its error text.

    Returns the outcome the store keeps: status, record (the run function's dict), error,
    started, finished, worker.
    """
    started = time.time()
    try:
        record = resolve_run_fn(run_fn)(config)
        if not isinstance(record, dict):
            raise TypeError(f"the run function returned {type(record).__name__}, not a dict")
        status = record.get("status")
        if status not in STATUSES:
            raise ValueError(f"the run function returned status {status!r}")
        error = record.get("error") if status == "failed" else None
    except Exception as e:  # a crashing run is recorded and the study goes on
        record = {}
        status = "failed"
        error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-8)}"
    return {
        "status": status,
        "record": _jsonable(record),
        "error": error,
        "started": started,
        "finished": time.time(),
        "worker": worker_name(),
    }


def train_run(config: dict[str, Any]) -> dict[str, Any]:
    """The default run function: one `gradtrace.training.train` run on one thread."""
    import torch

    from gradtrace.study.memory import step_memory_mb
    from gradtrace.study.runspec import train_specs
    from gradtrace.training import train

    torch.set_num_threads(1)
    specs = train_specs(config, threads=1)
    record = train(*specs).to_dict()
    if record["status"] != "failed":
        record.setdefault("extra", {}).update(step_memory_mb(*specs))
    return record


def _jsonable(value: Any) -> Any:
    """Replace values JSON cannot hold (tuples are fine; numpy scalars become floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # NaN / inf are not JSON
    if hasattr(value, "item"):
        return _jsonable(value.item())
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return str(value)
