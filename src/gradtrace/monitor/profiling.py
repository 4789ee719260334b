"""Scheduled gradient-through-time profiles: enter ``gradtrace.trace`` before a due step's forward.

The monitor cannot re-run the user's forward pass, and a trace must be entered before the
forward it follows. So a forward pre-hook on the model enters the trace context when a profile is
due (every ``every`` steps, starting at step 0; only in training mode with autograd on), the
forward and backward run traced, and the monitor's step hook collects ``tracer.profile`` and exits
the context. Only that one step pays for tracing. The same step also records what each recurrent
layer received (``gradtrace.diagnosis.recorder``) and replays it in float64 to measure unit health
(saturation, dead units, gates) on its first ``HEALTH_EXAMPLES`` examples, so the advice can
speak about them too. A profiling failure (for
example a model without recurrent layers) turns profiling off with one log line; norms and alerts
carry on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gradtrace.monitor.norms import unwrap

logger = logging.getLogger("gradtrace")
HEALTH_EXAMPLES = 8  # examples replayed for unit health: fractions over B*T*H unit-steps settle


@dataclass
class Profiled:
    """What one traced step produced: the gradient profile and, when measurable, unit health."""

    profile: Any  # gradtrace.tracing.GradientProfile
    health: Any = None  # gradtrace.diagnosis.Health or None


class ProfileScheduler:
    """Owns the forward pre-hook and the open trace context of a monitor."""

    def __init__(self, model: nn.Module, *, every: int, is_due: Callable[[], bool]) -> None:
        self.model = model
        self.every = every
        self.is_due = is_due
        self.off_reason: str | None = None if every > 0 else "profile_every=0"
        self._stack: contextlib.ExitStack | None = None
        self._tracer: Any = None
        self._recording: Any = None
        self._handle: Any = None

    @property
    def active(self) -> bool:
        """True while a trace context is open."""
        return self._stack is not None

    def install(self) -> None:
        """Register the forward pre-hook (no-op when profiling is off)."""
        if self.off_reason is None and self._handle is None:
            self._handle = self.model.register_forward_pre_hook(self._before_forward)

    def remove(self) -> None:
        """Remove the hook and close any open trace."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._exit()

    def abort(self) -> None:
        """Close an open trace without collecting it (the hook stays for later profiles)."""
        self._exit()

    def start_if_due(self) -> None:
        """Open a trace now when a profile is due and none is open (used by integrations)."""
        if self.off_reason is None and not self.active and self.is_due():
            self._enter()

    def collect(self) -> Profiled | None:
        """The profile (and health) of the traced step, closing the trace; None if none ran."""
        if not self.active:
            return None
        tracer, recording = self._tracer, self._recording
        self._exit()
        try:
            profile = tracer.profile
        except Exception as e:
            self._turn_off(e)
            return None
        return Profiled(profile, _health(unwrap(self.model), recording))

    def _before_forward(self, module: nn.Module, args: Any) -> None:
        if torch.is_grad_enabled() and module.training:
            self.start_if_due()

    def _enter(self) -> None:
        model = unwrap(self.model)
        stack = contextlib.ExitStack()
        try:
            from gradtrace.tracing import trace

            self._recording = _record(stack, model)
            self._tracer = stack.enter_context(trace(model))
        except Exception as e:
            stack.close()
            self._tracer = self._recording = None
            self._turn_off(e)
            return
        self._stack = stack

    def _exit(self) -> None:
        stack, self._stack, self._tracer, self._recording = self._stack, None, None, None
        if stack is not None:
            try:
                stack.close()
            except Exception as e:
                self._turn_off(e)

    def _turn_off(self, error: BaseException) -> None:
        if self.off_reason is None:
            self.off_reason = f"{type(error).__name__}: {error}"
            logger.warning("gradtrace monitor: gradient profiles are off (%s)", self.off_reason)
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


def _record(stack: contextlib.ExitStack, model: nn.Module) -> Any:
    """Record the recurrent layers' inputs for health (None when the recorder cannot)."""
    try:
        from gradtrace.diagnosis.recorder import record

        return stack.enter_context(record(model))
    except Exception as e:
        logger.debug("gradtrace monitor: no unit health (%s)", e)
        return None


def _health(model: nn.Module, recording: Any) -> Any:
    """Unit health of every recorded layer, replayed in float64 (None when it cannot be had)."""
    if recording is None:
        return None
    try:
        from gradtrace.diagnosis.health import Health, layer_health
        from gradtrace.diagnosis.replay import replay

        with torch.no_grad():
            runs = replay(model, recording, batch=HEALTH_EXAMPLES)
            return Health(layers=[layer_health(run) for run in runs]) if runs else None
    except Exception as e:
        logger.debug("gradtrace monitor: no unit health (%s)", e)
        return None
