"""Training runs for the audit through the study store: plan, reuse finished runs, run the rest.

A run of the audit is a run of a study preset (same settings, same key), so a finished run in
``--study DIR`` (or in the audit's own folder from an earlier audit) is used as it is. Runs are
stored in the audit folder's results.sqlite, which makes that folder a study folder too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradtrace.audit.budget import Budget
from gradtrace.audit.claim import RunRequest
from gradtrace.errors import InvalidValue
from gradtrace.study.expand import RunConfig, expand
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.lock import study_lock
from gradtrace.study.store import STORE_NAME, Store, open_store
from gradtrace.study.worker import DEFAULT_RUN_FN, run_one

# a failed run, or one the clock stopped ("out_of_time"), is tried again
REUSABLE = ("solved", "unsolved", "diverged")


def variant_table() -> dict[str, dict[str, Any]]:
    """Every named variant of the study presets (core and ablations), by name."""
    from gradtrace.study.presets import PRESETS

    table: dict[str, dict[str, Any]] = {}
    for preset in PRESETS.values():
        for variant in preset.get("variant", []):
            table.setdefault(variant["name"], variant)
    return table


def run_configs(budget: Budget, requests: Iterable[RunRequest]) -> list[RunConfig]:
    """The study runs behind ``requests`` at ``budget`` (deduplicated, keys as in the preset).

    Where the preset uses committed tuned learning rates (quick), each run takes its cell's
    rate, so the audit trains exactly the study's runs; other cells keep the default rate.
    """
    from gradtrace.study.tuning import apply_lrs, load_chosen, lr_key

    settings = budget.study_settings()
    chosen = (settings.get("tune") or {}).get("chosen")
    lrs = load_chosen(chosen) if chosen else {}
    variants = variant_table()
    found: dict[str, RunConfig] = {}
    for request in requests:
        if request.variant not in variants:
            raise InvalidValue("variant", request.variant, "a variant of the study presets")
        study = {key: settings[key] for key in ("model", "train", "budget") if key in settings} | {
            "name": f"audit-{budget.name}",
            "tasks": ["adding"],
            "seq_lens": list(request.seq_lens),
            "seeds": list(budget.seeds),
            "variant": [variants[request.variant]],
        }
        for run in expand(spec_from_dict(study, source=f"audit budget {budget.name}")):
            if lr_key(run.variant, run.task, run.seq_len) in lrs:
                (run,) = apply_lrs([run], lrs, source=str(chosen))
            found.setdefault(run.key, run)
    return list(found.values())


@dataclass
class TrainedRuns:
    """Finished run rows (store rows: key, variant, seq_len, seed, status, record, ...)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)  # keys taken from --study DIR
    ran: list[str] = field(default_factory=list)  # keys trained by this audit

    def of(self, variant: str, seq_len: int) -> list[dict[str, Any]]:
        """The rows of ``variant`` at ``seq_len`` (one per seed)."""
        return [r for r in self.rows if r["variant"] == variant and r["seq_len"] == seq_len]


RunHook = Callable[[dict[str, Any]], None]


def ensure_runs(
    runs: list[RunConfig],
    out_dir: str | Path,
    *,
    study_dir: str | Path | None = None,
    workers: int = 1,
    on_start: Callable[[int, int], None] | None = None,
    on_run: RunHook | None = None,
) -> TrainedRuns:
    """Make sure every run in ``runs`` has finished in ``out_dir``/results.sqlite.

    Finished runs already there are kept; those finished in ``study_dir`` are copied over; the
    rest train in ``workers`` spawned processes (0: in this process, one after the other).
    ``on_start(total, done)`` and ``on_run(row)`` report progress.
    """
    if not runs:
        return TrainedRuns()
    out = Path(out_dir)
    keys = [r.key for r in runs]
    with study_lock(out), open_store(out) as store:
        store.release_stale()
        store.plan(runs)
        reused = _copy_from(store, study_dir, out, keys)
        todo_keys = set(store.todo(keys, retry_failed=True))
        todo = sorted((r for r in runs if r.key in todo_keys), key=lambda r: -r.seq_len)
        if on_start is not None:
            on_start(len(runs), len(runs) - len(todo))
        if todo:
            _execute(store, todo, workers, on_run)
        rows = store.rows(keys)
    return TrainedRuns(rows=rows, reused=reused, ran=[r.key for r in todo])


def _copy_from(store: Store, study_dir: str | Path | None, out: Path, keys: list[str]) -> list[str]:
    """Copy runs finished in ``study_dir`` that ``store`` still lacks; return their keys."""
    if study_dir is None:
        return []
    source = Path(study_dir)
    if not (source / STORE_NAME).is_file():
        raise InvalidValue("--study", str(study_dir), f"a study folder (with {STORE_NAME})")
    if source.resolve() == out.resolve():
        return []
    missing = set(store.todo(keys, retry_failed=True))
    with open_store(source, readonly=True) as reference:
        found = [r for r in reference.rows(keys) if r["status"] in REUSABLE and r["key"] in missing]
    for row in found:
        store.finish(
            row["key"],
            {
                "status": row["status"],
                "record": row["record"] or {},
                "error": row["error"],
                "started": row["started"],
                "finished": row["finished"],
                "worker": f"reused from {source}",
            },
        )
    return [r["key"] for r in found]


def _execute(store: Store, todo: list[RunConfig], workers: int, on_run: RunHook | None) -> None:
    def finished(run: RunConfig, outcome: dict[str, Any]) -> None:
        store.finish(run.key, outcome)
        if on_run is not None:
            on_run({"key": run.key, "variant": run.variant, "seq_len": run.seq_len, **outcome})

    if workers <= 0:
        for run in todo:
            store.mark_started(run.key, worker="audit")
            try:
                outcome = run_one(train_inline, run.config)
            except BaseException:
                store.mark_pending([run.key])
                raise
            finished(run, outcome)
        return
    from gradtrace.study.local import LocalExecutor

    queue, in_flight = deque(todo), {}
    try:
        with LocalExecutor(workers=min(workers, len(todo)), run_fn=DEFAULT_RUN_FN) as executor:
            while queue or in_flight:
                while queue and executor.in_flight < executor.slots:
                    run = queue.popleft()
                    worker = executor.submit(run.key, run.config)
                    in_flight[run.key] = run  # before it is marked: an interrupt sends it back
                    store.mark_started(run.key, worker=worker)
                for key, outcome in executor.wait(timeout=1.0):
                    finished(in_flight[key], outcome)
                    del in_flight[key]  # after its outcome is stored
    except BaseException:
        store.mark_pending(in_flight)  # interrupted: these run again next time
        raise


def train_inline(config: dict[str, Any]) -> dict[str, Any]:
    """The study's run function in this process, leaving its thread setting as it was."""
    import torch

    from gradtrace.study.worker import train_run

    threads = torch.get_num_threads()
    try:
        return train_run(config)
    finally:
        torch.set_num_threads(threads)
