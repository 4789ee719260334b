"""Scheduled gradient-through-time profiles that never change the training they observe.

A profile of step n is opened before its forward: when the monitor starts (for step 0) and when
it finishes step n-1, it enters ``gradtrace.trace(model, observe_only=True)``. That trace replaces
no forward and puts nothing on the model: global torch module hooks capture what each recurrent
module receives and, during the real backward, the gradient its outputs get; torch's own kernels
compute the step, so parameters after N steps are bit-identical to an unmonitored loop. When the
monitor records step n (before the optimizer changes anything) it collects the profile: the fused
layers are replayed on the side through gradtrace's kernels (RNG forked, no ``.grad`` touched).
The same step records what each recurrent layer received (``gradtrace.diagnosis.recorder``, also
through global hooks) and replays it in float64 to measure unit health on its first
``HEALTH_EXAMPLES`` examples. A profiling failure turns profiling off with one log line; norms
and alerts carry on. Because the hooks are global while a profile is open, a checkpoint saved
at any moment (``torch.save(model)``, ``deepcopy``) holds nothing of gradtrace.
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
HEALTH_EXAMPLES = 4  # examples replayed for unit health: fractions over B*T*H unit-steps settle


@dataclass
class Profiled:
    """What one traced step produced: the gradient profile and, when measurable, unit health."""

    profile: Any  # gradtrace.tracing.GradientProfile
    health: Any = None  # gradtrace.diagnosis.Health or None


class ProfileScheduler:
    """Owns the forward pre-hook and the open trace context of a monitor."""

    def __init__(
        self, model: nn.Module, *, every: int, is_due: Callable[[], bool], cells: Any = None
    ) -> None:
        self.model = model
        self.every = every
        self.is_due = is_due
        self.cells = cells
        self.off_reason: str | None = None if every > 0 else "profile_every=0"
        self._stack: contextlib.ExitStack | None = None
        self._tracer: Any = None
        self._recording: Any = None
        self._installed = False

    @property
    def active(self) -> bool:
        """True while a trace context is open."""
        return self._stack is not None

    def install(self) -> None:
        """Start scheduling: open the trace for the next step if it is due."""
        self._installed = self.off_reason is None
        self.start_if_due()

    def remove(self) -> None:
        """Stop scheduling and close any open trace."""
        self._installed = False
        self._exit()

    def abort(self) -> None:
        """Close an open trace without collecting it; the retried step is observed afresh."""
        self._exit()
        self.start_if_due()

    def start_if_due(self) -> None:
        """Open a trace now when a profile is due for the next step and none is open."""
        if self._installed and self.off_reason is None and not self.active and self.is_due():
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
        return Profiled(profile, _health(unwrap(self.model), recording, self.cells))

    def _enter(self) -> None:
        model = unwrap(self.model)
        stack = contextlib.ExitStack()
        try:
            from gradtrace.tracing import trace

            self._recording = _record(stack, model, self.cells)
            self._tracer = stack.enter_context(trace(model, cells=self.cells, observe_only=True))
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


def _record(stack: contextlib.ExitStack, model: nn.Module, cells: Any) -> Any:
    """Record the recurrent layers' inputs for health (None when the recorder cannot)."""
    try:
        from gradtrace.diagnosis.recorder import record

        return stack.enter_context(record(model, cells, global_hooks=True))
    except Exception as e:
        logger.debug("gradtrace monitor: no unit health (%s)", e)
        return None


def _health(model: nn.Module, recording: Any, cells: Any = None) -> Any:
    """Unit health of every recorded layer, replayed in float64 (None when it cannot be had)."""
    if recording is None:
        return None
    try:
        from gradtrace.diagnosis.health import Health, layer_health
        from gradtrace.diagnosis.replay import replay

        with torch.no_grad():
            runs = replay(model, recording, batch=HEALTH_EXAMPLES, cells=cells)
            return Health(layers=[layer_health(run) for run in runs]) if runs else None
    except Exception as e:
        logger.debug("gradtrace monitor: no unit health (%s)", e)
        return None
