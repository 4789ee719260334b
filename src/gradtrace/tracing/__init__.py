"""trace(model): exact per-step gradient norms of every recurrent layer -> GradientProfile."""

from __future__ import annotations

from gradtrace.models.declare import CellDeclaration, recurrent_cell
from gradtrace.tracing.marks import mark, mark_sequence
from gradtrace.tracing.profile import GradientProfile, LayerProfile
from gradtrace.tracing.tracer import Tracer, trace

__all__ = [
    "CellDeclaration",
    "GradientProfile",
    "LayerProfile",
    "Tracer",
    "mark",
    "mark_sequence",
    "recurrent_cell",
    "trace",
]
