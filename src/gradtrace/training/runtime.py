"""The settings a run executes under (threads, subnormal flushing, private RNG) and its meters."""

from __future__ import annotations

import resource
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch

from gradtrace.numerics import flush_denormal


def pick_device(name: str) -> torch.device:
    """Resolve "auto" to cuda when available, else cpu; "cuda" without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from gradtrace.errors import InvalidValue

        raise InvalidValue("device", name, "no CUDA device is available; use cpu or auto")
    return torch.device(name)


@contextmanager
def run_settings(*, threads: int | None, seed: int, device: torch.device) -> Iterator[None]:
    """Run a block with flushed subnormals, ``threads`` torch threads and a private seeded RNG.

    - Subnormals: vanishing gradients underflow into subnormal floats, which make CPU
      arithmetic 5-10x slower; training loses nothing by flushing them to zero.
    - Threads: None leaves the caller's setting; the previous value is restored after.
    - RNG: torch's global generator is forked, seeded with ``seed`` for the block (model init,
      dropout) and restored after, so the caller's random stream is untouched.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with ExitStack() as stack:
        stack.enter_context(torch.random.fork_rng(devices=devices))
        stack.enter_context(flush_denormal())
        previous = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
            stack.callback(torch.set_num_threads, previous)
        torch.manual_seed(seed)
        yield


class PeakMemory:
    """Peak memory a run added: CUDA max_memory_allocated, or the growth of the process maxrss.

    On CPU this is the growth of the process's resident-set high-water mark
    (resource.getrusage ru_maxrss) during the run: cheap, but a lower bound when an earlier
    run in the same process already reached a higher peak (then it reads 0). tracemalloc would
    be exact for Python objects but slows training many times over and misses torch's allocator.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.method = "cuda_max_memory_allocated" if device.type == "cuda" else "maxrss_growth"
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            self._start = torch.cuda.memory_allocated(device)
        else:
            self._start = _maxrss_bytes()

    def peak_mb(self) -> float:
        """Megabytes (2**20 bytes) of peak memory above the start."""
        if self.device.type == "cuda":
            grown = torch.cuda.max_memory_allocated(self.device) - self._start
        else:
            grown = _maxrss_bytes() - self._start
        return max(0, grown) / 2**20


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports kilobytes
