"""A second core for diagnose in a worker thread: independent float64 work beside the trace.

Torch's intra-op threads run a long chain of small operations (a diagnosis: one matmul and a
few element-wise operations per time step) badly from a thread other than the main one:
bench_probe.py measured a probe of an LSTM with H = 256 at T = 1000 (batch 64) at 5.3 s in a
worker thread, as the web lab's server runs it, against 1.9 s in the main thread. There the
parts of a diagnosis that do not depend on each other (the spectra of the weights, the float64
replay and its Lyapunov exponents, the trace's backward) run at the same time instead, one
intra-op thread each: the calling thread keeps all but one of its intra-op threads and one
worker thread takes the side jobs (2.2 s). In the main thread the trace's matmuls gain more from
a second intra-op thread than the overlap saves (batch 64: 0.98x; 2 layers: slower), so there
``submit`` runs each job at once in the calling thread, as it does on one core or a GPU. The
numbers are the same either way (each job runs the same operations; the jobs share only
read-only tensors); the calling thread's thread count is restored on exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

T = TypeVar("T")


class SideWorker:
    """Runs jobs on a second core (``parallel``), or at once in the calling thread."""

    def __init__(self, pool: ThreadPoolExecutor | None) -> None:
        self._pool = pool

    @property
    def parallel(self) -> bool:
        """Whether jobs run beside the calling thread."""
        return self._pool is not None

    def submit(self, job: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Start ``job(*args, **kwargs)``; its result (or error) comes from ``.result()``."""
        if self._pool is not None:
            return self._pool.submit(job, *args, **kwargs)
        done: Future[T] = Future()
        try:
            done.set_result(job(*args, **kwargs))
        except BaseException as error:  # re-raised by .result(), as a worker's would be
            done.set_exception(error)
        return done


def _one_thread() -> None:
    torch.set_num_threads(1)


@contextmanager
def side_worker(
    params: list[torch.Tensor], *, parallel: bool | None = None
) -> Iterator[SideWorker]:
    """A SideWorker for a model with ``params``: parallel on CPU with two or more threads,
    when ``parallel`` (default: when called from a thread other than the main one)."""
    threads = torch.get_num_threads()
    on_cpu = all(p.device.type == "cpu" for p in params)
    if parallel is None:
        parallel = threading.current_thread() is not threading.main_thread()
    if not parallel or threads < 2 or not on_cpu:
        yield SideWorker(None)
        return
    pool = ThreadPoolExecutor(max_workers=1, initializer=_one_thread)
    torch.set_num_threads(threads - 1)
    try:
        yield SideWorker(pool)
    finally:
        try:  # a job still running finishes first (it may read the caller's tensors)
            pool.shutdown(wait=True, cancel_futures=True)
        finally:
            torch.set_num_threads(threads)
