"""Probe jobs: a probe runs in a worker thread; the page polls its progress and can cancel it.

One probe runs at a time (the lab's probe lock). Progress is an estimate, labelled as such:
elapsed time against the time expected from the probe's size (a fixed overhead plus its
multiply-adds at the rate the last size-bound probe ran). Cancelling raises ``ProbeCancelled``
inside the worker thread at its next Python instruction (CPython's per-thread asynchronous
exception), so a long diagnosis stops between two torch calls without any check inside
gradtrace's code; the probe's private model and trace are dropped with it.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RATE = 2e-10  # seconds per multiply-add of a probe, until one has been measured
OVERHEAD_S = 0.05  # seconds of a probe that do not grow with its size (building, summaries)
MAX_JOBS = 16  # finished jobs kept for their pages to collect


class ProbeCancelled(Exception):
    """Raised inside a probe's worker thread to stop it."""


@dataclass
class ProbeJob:
    """One probe: its state, timing and, once done, its result (or one-line error)."""

    id: str
    work: float
    expected_s: float
    state: str = "running"  # running | done | failed | cancelled
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    _thread: threading.Thread | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock)
    _computing: bool = True

    def view(self) -> dict[str, Any]:
        """What the page polls: state, elapsed, estimated progress, result or error."""
        elapsed = (time.perf_counter() - self.started) if self.seconds is None else self.seconds
        progress = 1.0 if self.state == "done" else min(0.95, elapsed / max(self.expected_s, 1e-3))
        return {
            "id": self.id,
            "state": self.state,
            "elapsed_s": round(elapsed, 3),
            "expected_s": float(f"{self.expected_s:.4g}"),
            "progress": float(f"{progress:.4g}"),
            "progress_is_estimate": self.state == "running",
            "result": self.result,
            "error": self.error,
        }


class JobBoard:
    """The probe jobs of one lab app (kept on ``app.state``, never global)."""

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.jobs: OrderedDict[str, ProbeJob] = OrderedDict()
        self.rate = DEFAULT_RATE
        self._ids = itertools.count(1)
        self._board = threading.Lock()

    def start(self, work: float, run: Any) -> ProbeJob | None:
        """Start ``run()`` (returning the result dict) in a thread; None if a probe is running."""
        if not self.lock.acquire(blocking=False):
            return None
        with self._board:
            expected = OVERHEAD_S + work * self.rate
            job = ProbeJob(id=str(next(self._ids)), work=work, expected_s=expected)
            self.jobs[job.id] = job
            while len(self.jobs) > MAX_JOBS:
                self.jobs.popitem(last=False)
        job._thread = threading.Thread(target=self._work, args=(job, run), daemon=True)
        job._thread.start()
        return job

    def _work(self, job: ProbeJob, run: Any) -> None:
        try:
            try:
                result = run()
                with job._mutex:
                    job._computing = False
                job.seconds = time.perf_counter() - job.started
                job.result, job.state = result, "done"
                if job.work > 0 and job.seconds > 4 * OVERHEAD_S:  # size-bound: learn its rate
                    self.rate = (job.seconds - OVERHEAD_S) / job.work
            except ProbeCancelled:
                job.state = "cancelled"
            except Exception as e:
                job.error = " ".join(str(e).split()) or type(e).__name__
                job.state = "failed"
        except ProbeCancelled:  # raised just as the probe finished: it counts as cancelled
            job.state = "cancelled"
        finally:
            job._computing = False
            if job.seconds is None:
                job.seconds = time.perf_counter() - job.started
            self.lock.release()

    def get(self, job_id: str) -> ProbeJob | None:
        """The job with this id, if it is still kept."""
        return self.jobs.get(job_id)

    def cancel(self, job_id: str) -> ProbeJob | None:
        """Stop a running job (no-op once it has finished); returns the job."""
        job = self.jobs.get(job_id)
        if job is None or job._thread is None:
            return job
        with job._mutex:
            if job._computing and job._thread.ident is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(job._thread.ident), ctypes.py_object(ProbeCancelled)
                )
                job._computing = False
        job._thread.join(timeout=10)
        return job
