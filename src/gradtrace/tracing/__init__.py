"""trace(model): exact per-step gradient norms of every recurrent layer -> GradientProfile."""

from __future__ import annotations

from gradtrace.tracing.profile import GradientProfile, LayerProfile
from gradtrace.tracing.tracer import Tracer, trace

__all__ = ["GradientProfile", "LayerProfile", "Tracer", "trace"]
