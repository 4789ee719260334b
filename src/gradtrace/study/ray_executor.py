"""Ray executor: runs configs as Ray tasks on a local Ray instance or an existing cluster."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from gradtrace.errors import InvalidValue
from gradtrace.study.executor import Executor, failed_outcome
from gradtrace.study.worker import RunFn, run_one

MAX_RETRIES = 3


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise InvalidValue(
            "--executor", "ray", "Ray is not installed; pip install 'gradtrace[ray]'"
        ) from e
    return ray


class RayExecutor(Executor):
    """Ray tasks of one CPU each; starts a local instance (``num_cpus=workers``) unless given
    ``address`` ("auto" or "ray://host:port"), and shuts down only an instance it started.

    Run functions travel as ``"module:function"`` paths (or picklable callables) and must be
    importable on every Ray worker; the outcome of each run comes back to the parent, which
    alone writes the store.
    """

    kind = "ray"

    def __init__(self, *, workers: int | None, run_fn: str | RunFn, address: str | None = None):
        self._ray = _ray()
        self._run_fn = run_fn
        self._address = address
        self._workers = workers
        self._owner = False
        self._refs: dict[Any, tuple[str, float]] = {}
        self.slots = workers or 1

    def __enter__(self) -> RayExecutor:
        ray = self._ray
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self._address and self._address.startswith("ray://"):
                ray.init(address=self._address)  # Ray Client: the server keeps its own settings
            elif self._address:
                ray.init(address=self._address, **options)
            else:
                ray.init(num_cpus=self._workers, **options)
            self._owner = True
        if self._workers is None:
            self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # a run whose worker or node dies is submitted again (MAX_RETRIES times) on the nodes
        # that are left; run_one catches the run's own errors, so those are never retried
        self._remote = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(run_one)
        return self

    @property
    def in_flight(self) -> int:
        """Number of runs submitted and not yet returned."""
        return len(self._refs)

    def submit(self, key: str, config: dict[str, Any]) -> str:
        """Submit one run as a Ray task; returns a worker label."""
        ref = self._remote.remote(self._run_fn, config)
        self._refs[ref] = (key, time.time())
        return "ray"

    def wait(self, timeout: float | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Block until at least one task finishes (or ``timeout``); returns (key, outcome)."""
        if not self._refs:
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:  # collect any others that finished meanwhile
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        done = []
        for ref in ready:
            key, started = self._refs.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as e:  # the task's worker died or Ray failed it
                error = f"RayTaskError: {type(e).__name__}: {' '.join(str(e).split())[:500]}"
                outcome = failed_outcome(error, started=started, worker="ray")
            done.append((key, outcome))
        return done

    def close(self) -> None:
        """Shut down the Ray instance if this executor started it."""
        if self._owner and self._ray.is_initialized():
            self._ray.shutdown()
        self._owner = False

    def abort(self) -> None:
        """Cancel the tasks in flight, then close."""
        for ref in list(self._refs):
            with contextlib.suppress(Exception):  # already finished, or Ray is going down
                self._ray.cancel(ref, force=True)
        self._refs.clear()
        self.close()
