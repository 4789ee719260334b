"""Probe JSON (format 1): ``gradtrace probe --json`` (one ProbeResult) or ``--compare --json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gradtrace.formats.base import READ, FormatError, check_version, validate
from gradtrace.formats.profile import ProfileData

VERSION = 1
VERDICTS = (
    "healthy",
    "vanishing",
    "exploding",
    "non-finite",
    "over-sensitive (curse of memory)",
)


class Spectrum(BaseModel):
    """One recurrent matrix's spectrum."""

    model_config = READ

    name: str | None = None
    gate: str | None = None
    spectral_radius: float | None = None
    max_singular: float | None = None
    eigenvalues: list[list[float | None]] = Field(default_factory=list)


class Lyapunov(BaseModel):
    """One layer's Lyapunov exponents."""

    model_config = READ

    name: str | None = None
    exponents: list[float | None] = Field(default_factory=list)


class LayerHealth(BaseModel):
    """Unit health of one layer."""

    model_config = READ

    name: str | None = None
    saturated: float | None = None
    dead: float | None = None
    gate_means: dict[str, float | None] | None = None
    forget_timescale: float | None = None


class Health(BaseModel):
    """Unit health of every layer."""

    model_config = READ

    layers: list[LayerHealth] = Field(default_factory=list)
    subnormal_grads: float | None = None
    subnormal_trace: float | None = None


class Recommendation(BaseModel):
    """One finding and its advice."""

    model_config = READ

    finding: str | None = None
    advice: str | None = None


class DiagnosisV1(BaseModel):
    """A Diagnosis.to_dict()."""

    model_config = READ

    verdict: str | None = None
    eps: float | None = Field(default=None, gt=0, lt=1)
    profile: ProfileData | None = None
    spectra: list[Spectrum] = Field(default_factory=list)
    lyapunov: list[Lyapunov] = Field(default_factory=list)
    health: Health | None = None
    recommendations: list[Recommendation] = Field(default_factory=list)


class ProbeResultV1(BaseModel):
    """A ProbeResult.to_dict() (or a bare Diagnosis with a profile)."""

    model_config = READ

    format_version: int | None = None
    spec: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None
    verdict: str | None = None
    seconds: float | None = None
    profile: ProfileData | None = None
    spectra: list[Spectrum] = Field(default_factory=list)
    diagnosis: DiagnosisV1 | None = None


class CompareV1(BaseModel):
    """``probe --compare --json``: {"results": [ProbeResult, ...]}."""

    model_config = READ

    format_version: int | None = None
    results: list[ProbeResultV1] = Field(min_length=1)


def _one(data: Any, *, file: str | Path, record: str) -> None:
    if not isinstance(data, dict):
        raise FormatError(file, record, type(data).__name__, "a probe result (a JSON object)")
    check_version(data.get("format_version"), VERSION, file=file, record=record)
    result = validate(ProbeResultV1, data, file=file, record=record)
    diagnosis = result.diagnosis
    if diagnosis is None and result.profile is None:
        raise FormatError(file, record, "{...}", "a probe result with a diagnosis or a profile")
    for name, found in (
        ("verdict", result.verdict),
        ("diagnosis.verdict", diagnosis and diagnosis.verdict),
    ):
        if found is not None and found not in VERDICTS:
            where = ".".join(p for p in (record, name) if p)
            raise FormatError(file, where, found, "one of " + ", ".join(VERDICTS))


def validate_probe(data: Any, *, file: str | Path) -> Any:
    """``data`` checked as a probe JSON (one result, a list, or {"results": [...]})."""
    if isinstance(data, dict) and "results" in data:
        check_version(data.get("format_version"), VERSION, file=file, record="")
        validate(CompareV1, data, file=file, record="")
        items = data["results"]
        prefix = "results"
    elif isinstance(data, list):
        if not data:
            raise FormatError(file, "", "[]", "at least one probe result")
        items, prefix = data, ""
    else:
        _one(data, file=file, record="")
        return data
    for i, item in enumerate(items):
        _one(item, file=file, record=f"{prefix}[{i}]")
    return data
