"""A claim of the seed documents, the finding of its check and the JSON-able result record."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["confirmed", "refuted", "nuanced", "not tested at this budget", "untestable here"]
VERDICTS: tuple[Verdict, ...] = (
    "confirmed",
    "refuted",
    "nuanced",
    "not tested at this budget",
    "untestable here",
)
# a check that crashed: not a verdict on the claim, reported as such
ERROR = "error"
THEMES = ("theory", "spectral", "clipping", "init", "architectures", "training", "untestable")


@dataclass(frozen=True)
class Finding:
    """What a check concluded: a verdict, a one-line summary and the numbers behind it."""

    verdict: Verdict
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    needs: str | None = None  # the budget that would test it ("not tested at this budget")

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict: {self.verdict!r} is not one of {', '.join(VERDICTS)}")
        if "\n" in self.summary:
            raise ValueError("summary: must be one line")


def graded(
    summary: str, evidence: dict[str, Any], *, full: bool, partial: bool, caveat: str = ""
) -> Finding:
    """Confirmed if ``full``, else nuanced (summary + caveat) if ``partial``, else refuted."""
    if full:
        return Finding("confirmed", summary, evidence)
    if partial:
        return Finding("nuanced", summary + caveat, evidence)
    return Finding("refuted", summary, evidence)


@dataclass(frozen=True)
class RunRequest:
    """Training runs a claim needs: one study variant (by name) at some sequence lengths."""

    variant: str
    seq_lens: tuple[int, ...]


@dataclass(frozen=True)
class Claim:
    """One checkable claim: where it comes from, our paraphrase, how it is checked.

    ``check(ctx) -> Finding`` does the work; ``runs(budget) -> [RunRequest]`` lists the training
    runs it reads (through the study store) so that the runner can train them all up front.
    """

    id: str
    seeds: tuple[str, ...]
    text: str  # our paraphrase of the claim
    method: str  # how it is checked, one line
    theme: str
    check: Callable[[Any], Finding]
    runs: Callable[[Any], list[RunRequest]] | None = None

    def requests(self, budget: Any) -> list[RunRequest]:
        """The training runs this claim reads at ``budget`` (none for measurement claims)."""
        return list(self.runs(budget)) if self.runs is not None else []


def claim(
    *,
    id: str,
    seeds: tuple[str, ...],
    text: str,
    method: str,
    theme: str,
    runs: Callable[[Any], list[RunRequest]] | None = None,
) -> Callable[[Callable[[Any], Finding]], Callable[[Any], Finding]]:
    """Decorator: attach a Claim (as ``fn.claim``) to a check function ``fn(ctx) -> Finding``."""
    if theme not in THEMES:
        raise ValueError(f"theme: {theme!r} is not one of {', '.join(THEMES)}")

    def attach(fn: Callable[[Any], Finding]) -> Callable[[Any], Finding]:
        fn.claim = Claim(id, tuple(seeds), text, method, theme, fn, runs)  # type: ignore[attr-defined]
        return fn

    return attach


@dataclass
class ClaimResult:
    """The JSON-able result of one claim's check (what the store, audit.json and report hold)."""

    id: str
    seeds: list[str]
    claim: str
    verdict: str  # one of VERDICTS, or "error" when the check itself failed
    summary: str
    evidence: dict[str, Any]
    budget: str
    seconds: float
    method: str = ""
    theme: str = ""
    needs: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, spec: Claim, finding: Finding, *, budget: str, seconds: float) -> ClaimResult:
        """The result record of ``spec`` checked at ``budget``."""
        return cls(
            id=spec.id,
            seeds=list(spec.seeds),
            claim=spec.text,
            verdict=finding.verdict,
            summary=finding.summary,
            evidence=jsonable(finding.evidence),
            budget=budget,
            seconds=round(seconds, 3),
            method=spec.method,
            theme=spec.theme,
            needs=finding.needs,
        )

    @classmethod
    def failed(cls, spec: Claim, error: str, *, budget: str, seconds: float) -> ClaimResult:
        """The record of a check that raised: no verdict on the claim, the error kept."""
        return cls(
            id=spec.id,
            seeds=list(spec.seeds),
            claim=spec.text,
            verdict=ERROR,
            summary=f"the check failed: {error.splitlines()[0] if error else 'unknown error'}",
            evidence={},
            budget=budget,
            seconds=round(seconds, 3),
            method=spec.method,
            theme=spec.theme,
            error=error,
        )

    @property
    def seed_label(self) -> str:
        """The seed files as "000, 003"."""
        return ", ".join(self.seeds)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClaimResult:
        """Inverse of ``to_dict``; unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"ClaimResult: unknown keys {', '.join(unknown)}")
        return cls(**data)


def jsonable(value: Any) -> Any:
    """Nested evidence made JSON-safe: numpy scalars/arrays plain, non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return jsonable(value.item())
    return str(value)
