"""Audit payloads (format 1): a ClaimResult.to_dict() per claim, stored in a study store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gradtrace.formats.base import READ, FormatError, validate


class ClaimPayloadV1(BaseModel):
    """The fields of a claim's record that the report and the tables read."""

    model_config = READ

    id: str | None = None
    claim: str | None = None
    verdict: str | None = None
    summary: str | None = None
    seeds: list[Any] | str | None = None
    evidence: Any = None  # a dict in gradtrace's own records; free text in others
    seconds: float | None = None
    error: str | None = None


def validate_audit(payload: Any, *, file: str | Path, record: str) -> Any:
    """``payload`` checked as a claim record (a JSON object whose known fields are typed)."""
    if not isinstance(payload, dict):
        raise FormatError(file, record, type(payload).__name__, "a claim record (a JSON object)")
    validate(ClaimPayloadV1, payload, file=file, record=record)
    return payload
