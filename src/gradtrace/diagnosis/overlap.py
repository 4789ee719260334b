"""A second core for diagnose: independent float64 work beside the trace, one thread each.

The parts of a diagnosis that do not depend on each other (the spectra of the weights, the
float64 replay and its Lyapunov exponents, the trace's backward) run at the same time: the
calling thread keeps all but one of its intra-op threads and one worker thread takes the side
jobs. This is the default on a CPU with two or more threads, in any thread. A diagnosis is a
long chain of small operations (a matmul and a few element-wise operations per time step), and
torch's intra-op threads run it badly whenever the cores are busy: bench_probe.py measured a
probe of an LSTM with H = 256 at T = 1000 (batch 64) while a study trained on both cores at
20-47 s in the main thread with two intra-op threads and 1.6-1.9 s with the side worker (one
thread each); on idle cores the two were within a few percent (0.98x at batch 64, earlier), and
from a worker thread, as the web lab's server runs it, the side worker was 2.1x faster (5.3 s
against 2.2 s). ``parallel=False`` (or one thread, or a GPU model) runs each job at once in the
calling thread. The numbers are the same either way (each job runs the same operations; the
jobs share only read-only tensors); the calling thread's thread count is restored on exit.
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
def side_worker(
    params: list[torch.Tensor], *, parallel: bool | None = None
) -> Iterator[SideWorker]:
    """A SideWorker for a model with ``params``: parallel on CPU with two or more threads,
    unless ``parallel`` is False (None, the default, means True)."""
    threads = torch.get_num_threads()
    on_cpu = all(p.device.type == "cpu" for p in params)
    if parallel is None:
        parallel = True
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
