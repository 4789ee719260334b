"""run_audit: train what the selected claims need (reusing stored runs), check each, store all."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gradtrace.audit.budget import Budget, get_budget
from gradtrace.audit.claim import ClaimResult
from gradtrace.audit.context import Context
from gradtrace.audit.engine import ensure_runs, run_configs
from gradtrace.audit.measure import one_thread
from gradtrace.audit.registry import select
from gradtrace.errors import InvalidValue

AUDIT_JSON = "audit.json"
KIND = "audit"  # the kind of the audit's payloads in the study store's json table


class AuditProgress(Protocol):
    """What run_audit reports to: training runs, then claims."""

    def runs_started(self, total: int, done: int) -> None:
        """``total`` training runs are needed, ``done`` of them are stored already."""

    def run_finished(self, row: dict[str, Any]) -> None:
        """One training run finished (its store row)."""

    def claims_started(self, total: int) -> None:
        """``total`` claims are about to be checked."""

    def claim_finished(self, result: ClaimResult) -> None:
        """One claim was checked."""


class SilentProgress:
    """Reports nothing (the library default)."""

    def runs_started(self, total: int, done: int) -> None:
        """Ignore."""

    def run_finished(self, row: dict[str, Any]) -> None:
        """Ignore."""

    def claims_started(self, total: int) -> None:
        """Ignore."""

    def claim_finished(self, result: ClaimResult) -> None:
        """Ignore."""


@dataclass
class AuditReport:
    """Everything one audit produced (JSON-able): the results and where the runs came from."""

    budget: str
    budget_settings: dict[str, Any]
    results: list[ClaimResult]
    runs: dict[str, Any] = field(default_factory=dict)  # total, reused, trained, keys
    out_dir: str | None = None
    study_dir: str | None = None
    wall_seconds: float = 0.0
    started: str = ""

    def counts(self) -> dict[str, int]:
        """Number of claims per verdict."""
        out: dict[str, int] = {}
        for result in self.results:
            out[result.verdict] = out.get(result.verdict, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        data = asdict(self)
        data["results"] = [r.to_dict() for r in self.results]
        data["counts"] = self.counts()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditReport:
        """Inverse of ``to_dict``."""
        fields = {k: v for k, v in data.items() if k != "counts"}
        fields["results"] = [ClaimResult.from_dict(r) for r in data["results"]]
        return cls(**fields)


def run_audit(
    *,
    budget: str | Budget = "quick",
    claims: Iterable[str] | None = None,
    out_dir: str | Path | None = None,
    study_dir: str | Path | None = None,
    workers: int | None = None,
    seed: int = 0,
    progress: AuditProgress | None = None,
) -> AuditReport:
    """Check the selected claims (all by default) and return their results.

    Training claims read runs of the budget's study preset: finished ones in ``out_dir`` or
    ``study_dir`` are reused, the rest train in ``workers`` processes (default one per core;
    0 trains in this process). With ``out_dir`` every result is stored as it finishes (kind
    "audit" in out_dir/results.sqlite) and audit.json is written at the end.
    """
    from gradtrace.study.environment import default_workers

    started = time.time()
    plan = get_budget(budget) if isinstance(budget, str) else budget
    selected = select(claims)
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise InvalidValue("--workers", workers, "an integer >= 0 (0: train in this process)")
    progress = progress or SilentProgress()
    configs = run_configs(plan, [r for c in selected for r in c.requests(plan)])
    if configs and out_dir is None:
        raise InvalidValue("out_dir", None, "a folder for the training runs these claims read")
    trained = ensure_runs(
        configs,
        out_dir or ".",
        study_dir=study_dir,
        workers=default_workers() if workers is None else workers,
        on_start=progress.runs_started,
        on_run=progress.run_finished,
    )
    ctx = Context(plan, trained, seed)
    progress.claims_started(len(selected))
    with one_thread():
        results = _check_all(selected, ctx, out_dir, progress)
    report = AuditReport(
        budget=plan.name,
        budget_settings=plan.to_dict(),
        results=results,
        runs={
            "total": len(configs),
            "reused_from_study": len(trained.reused),
            "trained": len(trained.ran),
            "keys": [r.key for r in configs],
        },
        out_dir=None if out_dir is None else str(out_dir),
        study_dir=None if study_dir is None else str(study_dir),
        wall_seconds=time.time() - started,
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    )
    if out_dir is not None:
        write_report_json(out_dir, report)
    return report


def _check_all(
    selected: list[Any], ctx: Context, out_dir: str | Path | None, progress: AuditProgress
) -> list[ClaimResult]:
    """Check each claim in turn; store each result as soon as it is known."""
    results = []
    for spec in selected:
        tick = time.perf_counter()
        try:
            result = ClaimResult.of(
                spec, spec.check(ctx), budget=ctx.budget.name, seconds=time.perf_counter() - tick
            )
        except Exception as e:  # a broken check is reported, the others still run
            error = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-4)}"
            result = ClaimResult.failed(
                spec, error, budget=ctx.budget.name, seconds=time.perf_counter() - tick
            )
        results.append(result)
        if out_dir is not None:
            store_result(out_dir, result)
        progress.claim_finished(result)
    return results


def store_result(out_dir: str | Path, result: ClaimResult) -> None:
    """Store one claim's result in out_dir/results.sqlite (kind "audit", key = claim id)."""
    from gradtrace.study.store import open_store

    with open_store(out_dir) as store:
        store.put_json(KIND, result.id, result.to_dict())


def write_report_json(out_dir: str | Path, report: AuditReport) -> Path:
    """Write audit.json and the audit's summary in the store's metadata; return the JSON path."""
    from gradtrace.study.store import open_store

    path = Path(out_dir) / AUDIT_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n", "utf-8")
    with open_store(out_dir) as store:
        summary = {k: v for k, v in report.to_dict().items() if k != "results"}
        store.set_meta("audit", summary)
    return path


def load_results(out_dir: str | Path) -> list[ClaimResult]:
    """The claim results stored in out_dir/results.sqlite (registry order is not guaranteed)."""
    from gradtrace.study.store import open_store

    with open_store(out_dir, readonly=True) as store:
        return [ClaimResult.from_dict(p) for p in store.get_json(KIND).values()]
