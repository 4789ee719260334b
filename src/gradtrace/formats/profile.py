"""The stored form of a GradientProfile (GradientProfile.to_dict()): layers of g_t norms."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gradtrace.formats.base import READ


class LayerProfile(BaseModel):
    """One recurrent layer's per-step gradient norms (None where not finite)."""

    model_config = READ

    name: str | None = None
    g: list[float | None] | None = None
    g_cell: list[float | None] | None = None


class ProfileData(BaseModel):
    """A GradientProfile's dict form."""

    model_config = READ

    layers: list[LayerProfile] = Field(default_factory=list)


class PhaseProfile(BaseModel):
    """A profile taken during training: {"step", "profile"} or {"step", "error"}."""

    model_config = READ

    step: int | None = None
    profile: ProfileData | None = None
    error: str | None = None
