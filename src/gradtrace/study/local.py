"""Local executor: one spawned worker process per slot, one thread each, crashes attributed.

Each worker owns a pipe, so the parent always knows which run a worker holds: a worker that
dies (segfault, out-of-memory kill) fails exactly that run and is replaced. Built on
multiprocessing rather than concurrent.futures because a broken ProcessPoolExecutor cannot
say which run broke it and cannot be stopped at once on Ctrl-C without private attributes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gradtrace.errors import GradtraceError
from gradtrace.study.executor import Executor, failed_outcome
from gradtrace.study.worker import RunFn, run_one

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_READY = "ready"


@dataclass
class _Slot:
    index: int
    process: Any
    conn: Any
    key: str | None = None
    started: float = 0.0
    ready: bool = False


class WorkerStartError(GradtraceError, RuntimeError):
    """Worker processes cannot start, so no run can."""


class LocalExecutor(Executor):
    """Runs configs in ``workers`` local processes (spawn context); use as a context manager."""

    kind = "local"

    def __init__(self, *, workers: int, run_fn: str | RunFn) -> None:
        self.slots = workers
        self._run_fn = run_fn
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Slot] = []

    @property
    def in_flight(self) -> int:
        """Number of runs handed out and not yet returned."""
        return sum(slot.key is not None for slot in self._workers)

    def submit(self, key: str, config: dict[str, Any]) -> str:
        """Hand ``config`` to an idle worker (starting one if needed); returns the worker's name."""
        slot = next((s for s in self._workers if s.key is None), None)
        if slot is None:
            if len(self._workers) >= self.slots:
                raise RuntimeError("every worker is busy")
            slot = self._start(len(self._workers))
            self._workers.append(slot)
        with contextlib.suppress(OSError):  # a dead worker is noticed (and replaced) by wait()
            slot.conn.send((key, config))
        slot.key, slot.started = key, time.time()
        return _name(slot)

    def wait(self, timeout: float | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Block until at least one run returns (or ``timeout``); returns (key, outcome) pairs."""
        busy = [s for s in self._workers if s.key is not None]
        if not busy:
            return []
        waitables = [s.conn for s in busy] + [s.process.sentinel for s in busy]
        multiprocessing.connection.wait(waitables, timeout)
        done: list[tuple[str, dict[str, Any]]] = []
        for slot in busy:
            key = slot.key
            assert key is not None
            outcome = self._receive(slot)
            if outcome is not None:
                slot.key = None
                done.append((key, outcome))
            elif not slot.process.is_alive():
                if not slot.ready:
                    raise WorkerStartError(
                        "worker processes die before they start (exit code "
                        f"{slot.process.exitcode}); a script that calls run_study must guard it "
                        "with `if __name__ == '__main__':`"
                    )
                done.append((key, self._crash_outcome(slot)))
                slot.conn.close()
                self._workers[self._workers.index(slot)] = self._start(slot.index)
        return done

    @staticmethod
    def _receive(slot: _Slot) -> dict[str, Any] | None:
        """The slot's outcome if it sent one (reading past its "ready" message)."""
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                if message == _READY:
                    slot.ready = True
                    continue
                returned_key, outcome = message
                assert returned_key == slot.key
                return outcome
        except (EOFError, OSError):
            pass  # the worker died; the caller checks
        return None

    def close(self) -> None:
        """Let idle workers exit, then stop any that remain."""
        for slot in self._workers:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        deadline = time.time() + 10
        for slot in self._workers:
            slot.process.join(max(0.0, deadline - time.time()))
        self.abort()

    def abort(self) -> None:
        """Stop every worker now (runs in flight are lost; the caller marks them pending)."""
        for slot in self._workers:
            if slot.process.is_alive():
                slot.process.terminate()
        for slot in self._workers:
            slot.process.join(5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5)
            slot.conn.close()
        self._workers = []

    def _start(self, index: int) -> _Slot:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(
            target=serve,
            args=(child_end, self._run_fn, os.getpid()),
            name=f"gradtrace-study-{index + 1}",
            daemon=True,
        )
        saved = {name: os.environ.get(name) for name in _THREAD_ENV}
        os.environ.update({name: "1" for name in _THREAD_ENV})  # inherited by the child only
        try:
            with _main_hidden(isinstance(self._run_fn, str)):
                process.start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        child_end.close()  # so the parent sees EOF when the child dies
        return _Slot(index, process, parent_end)

    def _crash_outcome(self, slot: _Slot) -> dict[str, Any]:
        code = slot.process.exitcode
        reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return failed_outcome(
            f"WorkerDied: the worker process died during the run ({reason})",
            started=slot.started,
            worker=_name(slot),
        )


def _name(slot: _Slot) -> str:
    return f"{socket.gethostname()}:{slot.process.pid}"


def serve(conn: Any, run_fn: str | RunFn, parent_pid: int) -> None:
    """Worker loop: receive (key, config), send back (key, outcome), until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C stops
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    conn.send(_READY)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        key, config = message
        conn.send((key, run_one(run_fn, config)))


def _exit_with_parent(parent_pid: int) -> None:
    """Exit as soon as the parent is gone (SIGKILL), rather than finish an orphaned run."""
    while True:
        time.sleep(0.2)
        if os.getppid() != parent_pid:
            os._exit(1)


@contextlib.contextmanager
def _main_hidden(hide: bool) -> Iterator[None]:
    """Keep spawned workers from re-running the parent's ``__main__`` script.

    A run function given as "module:function" never needs it, and re-running an unguarded
    script would start the study again inside every worker.
    """
    main = sys.modules.get("__main__")
    if not hide or main is None:
        yield
        return
    saved = {
        name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)
        if "__spec__" not in saved:
            del main.__spec__
