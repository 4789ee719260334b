"""run_study: validate, plan into the store, run what is left in parallel, commit each result."""

from __future__ import annotations

import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gradtrace.errors import InvalidValue, check, check_choice
from gradtrace.study.environment import default_workers, environment
from gradtrace.study.expand import RunConfig
from gradtrace.study.lock import study_lock
from gradtrace.study.progress import NullProgress, StudyProgress
from gradtrace.study.runspec import validate_runs
from gradtrace.study.spec import StudySpec
from gradtrace.study.store import FINISHED, Store, open_store
from gradtrace.study.tuning import (
    CHOSEN_FILE,
    apply_lrs,
    reported_runs,
    search,
    search_size,
    write_chosen,
)
from gradtrace.study.worker import DEFAULT_RUN_FN, RunFn

EXECUTORS = ("local", "ray")
MAX_WORKERS = 1024


@dataclass
class StudySummary:
    """What a call to run_study did: runs in the study, run now, skipped, outcome counts."""

    out_dir: str
    total: int
    ran: int
    skipped: int
    counts: dict[str, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySummary:
        """Inverse of `to_dict`."""
        return cls(**data)


def run_study(
    spec: StudySpec,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    run_fn: str | RunFn = DEFAULT_RUN_FN,
    retry_failed: bool = False,
    progress: StudyProgress | None = None,
    tune_progress: StudyProgress | None = None,
    source: str = "study",
    command: list[str] | None = None,
) -> StudySummary:
    """Run every run of ``spec`` not finished yet in ``out_dir``/results.sqlite.

    Resumable: finished runs are skipped, runs that were started but never finished run
    again, each finished run is committed on its own. Only this process writes the store.
    Ctrl-C stops the workers, puts unfinished runs back to pending and re-raises
    KeyboardInterrupt. A spec with [tune] and no committed rates first searches each cell's
    learning rate by successive halving (`gradtrace.study.tuning`, reported to
    ``tune_progress``); its runs are stored too, so the search resumes as well. ``run_fn``
    ("module:function" or a picklable callable, config dict -> record dict) replaces
    training, e.g. for tests.
    """
    check_choice("--executor", executor, EXECUTORS)
    if workers is not None:
        check(
            isinstance(workers, int) and 1 <= workers <= MAX_WORKERS,
            "--workers",
            workers,
            f"an integer in [1, {MAX_WORKERS}]",
        )
    if address is not None and executor != "ray":
        raise InvalidValue("--address", address, "only with --executor ray")
    _check_run_fn(run_fn)
    runs = reported_runs(spec)  # committed learning rates are checked here, before any work
    if run_fn == DEFAULT_RUN_FN:
        validate_runs(runs, source=source)
    slots = workers or (None if executor == "ray" and address else default_workers())
    out = Path(out_dir)
    progress = progress or NullProgress()
    started = time.time()
    with study_lock(out), open_store(out) as store:
        store.release_stale()  # we hold the lock: nothing else is running these
        # every start is on record from its first moment, a search's too (todo: known later)
        _record_meta(store, spec, executor=executor, workers=slots, command=command, todo=None)
        if spec.tune is not None and spec.tune.chosen is None:

            def execute(batch: list[RunConfig]) -> dict[str, dict[str, Any]]:
                store.plan(batch)
                keys = [r.key for r in batch]
                todo = schedule(batch, set(store.todo(keys, retry_failed=retry_failed)))
                if todo:
                    _execute(store, todo, _executor(executor, slots, run_fn, address), tuning)
                return {r["key"]: r for r in store.rows(keys)}

            tuning = tune_progress or NullProgress()
            tuning.start(total=search_size(runs, spec.tune), done=0, counts={})
            try:
                lrs, log = search(runs, spec.tune, execute)
            finally:
                tuning.stop()
            store.set_meta("tuned_lrs", lrs)
            write_chosen(out / CHOSEN_FILE, spec, lrs, log)
            store.set_meta("tuning_log", log)
            runs = apply_lrs(runs, lrs, source=spec.name)
        store.plan(runs)
        keys = [r.key for r in runs]
        todo = schedule(runs, set(store.todo(keys, retry_failed=retry_failed)))
        _set_todo(store, len(todo))
        progress.start(total=len(runs), done=len(runs) - len(todo), counts=store.counts(keys))
        interrupted = False
        try:
            with _sigterm_as_interrupt():
                if todo:
                    _execute(store, todo, _executor(executor, slots, run_fn, address), progress)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            progress.stop()
            _finish_meta(store, interrupted=interrupted)
        counts = store.counts(keys)
    return StudySummary(
        out_dir=str(out),
        total=len(runs),
        ran=len(todo),
        skipped=len(runs) - len(todo),
        counts=counts,
        wall_seconds=time.time() - started,
    )


def _check_run_fn(run_fn: str | RunFn) -> None:
    """Worker processes receive the run function by pickling: it must be importable."""
    if isinstance(run_fn, str):
        return
    try:
        pickle.dumps(run_fn)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        raise InvalidValue(
            "run_fn", repr(run_fn), "a module-level function (picklable) or 'module:function'"
        ) from e


def schedule(runs: list[RunConfig], todo: set[str]) -> list[RunConfig]:
    """Runs to do, longest sequences first, so short runs fill the gaps at the end."""
    return sorted((r for r in runs if r.key in todo), key=lambda r: -r.seq_len)


def _executor(kind: str, workers: int | None, run_fn: str | RunFn, address: str | None) -> Any:
    if kind == "ray":
        from gradtrace.study.ray_executor import RayExecutor

        return RayExecutor(workers=workers, run_fn=run_fn, address=address)
    from gradtrace.study.local import LocalExecutor

    return LocalExecutor(workers=workers or 1, run_fn=run_fn)


def _execute(store: Store, todo: list[RunConfig], executor: Any, progress: StudyProgress) -> None:
    queue = deque(todo)
    in_flight: dict[str, RunConfig] = {}
    try:
        with executor:
            while queue or in_flight:
                while queue and executor.in_flight < executor.slots:
                    run = queue.popleft()
                    worker = executor.submit(run.key, run.config)
                    in_flight[run.key] = run  # before it is marked: an interrupt sends it back
                    store.mark_started(run.key, worker=worker)
                for key, outcome in executor.wait(timeout=1.0):
                    store.finish(key, outcome)
                    run = in_flight.pop(key)
                    progress.update(
                        {"key": key, "variant": run.variant, "task": run.task, **outcome}
                    )
    except BaseException:
        store.mark_pending(in_flight)  # stopped mid-run: they run again next time
        raise


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Stop on SIGTERM as on Ctrl-C (workers stopped, unfinished runs back to pending)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous != signal.SIG_DFL:  # someone else handles it
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _record_meta(
    store: Store,
    spec: StudySpec,
    *,
    executor: str,
    workers: int | None,
    command: list[str] | None,
    todo: int | None,
) -> None:
    env = environment(executor=executor, workers=workers or 0, command=command)
    store.set_meta("spec", spec.model_dump(mode="json", by_alias=True))
    store.set_meta("environment", env)
    history = store.get_meta("invocations", [])
    history.append(
        {"time": env["time"], "command": env["command"], "todo": todo, "cpu": env["cpu_model"]}
    )
    store.set_meta("invocations", history)


def _set_todo(store: Store, todo: int) -> None:
    """The reported runs this start had left to do, once the search (if any) has chosen."""
    history = store.get_meta("invocations", [])
    if history:
        history[-1]["todo"] = todo
        store.set_meta("invocations", history)


def _finish_meta(store: Store, *, interrupted: bool) -> None:
    history = store.get_meta("invocations", [])
    if history:
        history[-1]["ended"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        history[-1]["interrupted"] = interrupted
        history[-1]["finished_total"] = sum(store.counts().get(s, 0) for s in FINISHED)
        store.set_meta("invocations", history)
