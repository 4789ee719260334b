"""What every study executor shares: context-manager exits and the outcome of a lost run."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, Self


class Executor(ABC):
    """Base of the executors: a clean exit closes, an exit by exception aborts.

    Subclasses implement ``close()`` (finish politely) and ``abort()`` (stop now).
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @abstractmethod
    def close(self) -> None:
        """Release the workers once every run has returned."""

    @abstractmethod
    def abort(self) -> None:
        """Stop every worker now (runs in flight are lost; the caller marks them pending)."""


def failed_outcome(error: str, *, started: float, worker: str) -> dict[str, Any]:
    """The outcome of a run lost outside its run function (its worker died or was failed)."""
    return {
        "status": "failed",
        "record": {},
        "error": error,
        "started": started,
        "finished": time.time(),
        "worker": worker,
    }
