"""One study at a time per output folder: an exclusive lock the OS drops when the process dies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gradtrace.errors import InvalidValue

LOCK_NAME = ".study.lock"


@contextmanager
def study_lock(out_dir: str | Path) -> Iterator[None]:
    """Hold ``out_dir``'s lock for the block; raise InvalidValue if another study holds it."""
    path = Path(out_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - closed in finally
    try:
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: run unguarded
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                handle.seek(0)
                owner = handle.read().strip() or "another process"
                raise InvalidValue(
                    "--out", str(out_dir), f"a study is running there already ({owner})"
                ) from e
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()
