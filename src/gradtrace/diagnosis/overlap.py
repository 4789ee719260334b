"""A second core for diagnose: independent float64 work runs beside the trace, one thread each.

A diagnosis of a small recurrent model is a long chain of small operations (one matmul and a
few element-wise operations per time step), and on CPU a second intra-op thread barely speeds
such a chain up (bench_probe.py: an LSTM with H = 256 at T = 1000 probes in the same time with
one thread as with two). The parts of a diagnosis that do not depend on each other (the spectra
of the weights, the float64 replay and its Lyapunov exponents, the trace's backward) can run at
the same time instead: the calling thread keeps all but one of its intra-op threads, and one
worker thread with one intra-op thread takes the side jobs. The numbers are the same either way
(each job runs the same operations; nothing is shared but read-only tensors).

Only on CPU, and only with two or more intra-op threads; otherwise ``submit`` runs the job at
once in the calling thread. The calling thread's thread count is restored on exit.
"""

from __future__ import annotations

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
def side_worker(params: list[torch.Tensor]) -> Iterator[SideWorker]:
    """A SideWorker for a model with ``params``: parallel on CPU with two or more threads."""
    threads = torch.get_num_threads()
    on_cpu = all(p.device.type == "cpu" for p in params)
    if threads < 2 or not on_cpu:
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
