"""What a check receives: the budget and the finished training runs it may read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradtrace.audit.budget import Budget
from gradtrace.audit.engine import TrainedRuns


@dataclass
class Context:
    """The budget, the trained runs (read through ``outcomes``) and the measurement seed."""

    budget: Budget
    runs: TrainedRuns = field(default_factory=TrainedRuns)
    seed: int = 0

    def outcomes(self, variant: str, seq_len: int) -> list[dict[str, Any]]:
        """Compact outcomes of ``variant``'s runs at ``seq_len`` (one per seed, maybe none)."""
        return [outcome_of(row) for row in self.runs.of(variant, seq_len)]


def outcome_of(row: dict[str, Any]) -> dict[str, Any]:
    """The facts of one stored run the training claims use (JSON-able, small)."""
    record = row.get("record") or {}
    baseline = record.get("baseline")
    metric = record.get("metric")
    end = ((record.get("profiles") or {}).get("end") or {}).get("profile")
    horizon = None
    if end:
        from gradtrace.tracing import GradientProfile

        try:
            layer = GradientProfile.from_dict(end).layers[0]
            horizon = {"T": layer.seq_len, "horizon": layer.horizon()}
        except (ValueError, KeyError, IndexError):
            horizon = None
    return {
        "key": row["key"],
        "variant": row["variant"],
        "seq_len": row["seq_len"],
        "seed": row["seed"],
        "status": row["status"],
        "steps": row.get("steps"),
        "steps_to_solve": row.get("steps_to_solve"),
        "metric": metric,
        "baseline": baseline,
        "metric_over_baseline": (metric / baseline) if metric is not None and baseline else None,
        "time_per_step_s": row.get("time_per_step_s"),
        "end_profile": horizon,
        "worker": row.get("worker"),
    }


def solved_share(outcomes: list[dict[str, Any]]) -> float | None:
    """Fraction of the decided runs solved (None without any).

    Runs the clock stopped ("out_of_time") are undecided: they count neither way.
    """
    decided = [o for o in outcomes if o["status"] != "out_of_time"]
    if not decided:
        return None
    return sum(o["status"] == "solved" for o in decided) / len(decided)
