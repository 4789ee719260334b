"""Monitor's hooks: measuring when a backward pass ends or an optimizer steps, and their removal."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from gradtrace.monitor.alerts import GradtraceWarning, NonFiniteGradient
from gradtrace.monitor.wiring import report_failure


class MonitorHooks:
    """Monitor's backward and optimizer-step hooks, the guard that turns monitoring off rather
    than break training, and the removal of every hook (a mixin of ``Monitor``: it uses the
    attributes ``Monitor.__init__`` sets)."""

    def _before_optimizer_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._manual:
            self._manual = False
            return
        self._safely(self._step)

    def _hook_backward(self) -> None:
        """Measure raw gradients when each backward pass ends (before any clipping of the user)."""
        if self._grad_hook is not None:
            self._grad_hook.remove()
        params = [p for p in self.index.params if p.requires_grad]
        self._grad_hook = torch.autograd.graph.register_multi_grad_hook(
            params, self._on_grads, mode="any"
        )

    def _on_grads(self, grad: Any) -> None:
        if self.enabled and not self._queued:
            self._queued = True
            torch.autograd.Variable._execution_engine.queue_callback(self._after_backward)

    def _after_backward(self) -> None:
        # one more hop: run after every callback queued during this backward (DDP's all-reduce)
        torch.autograd.Variable._execution_engine.queue_callback(self._after_callbacks)

    def _after_callbacks(self) -> None:
        self._queued = False
        self._safely(self._measure_raw)

    # -- never break training ----------------------------------------------------------------

    def _safely(self, fn: Any, *args: Any) -> Any:
        if not self.enabled:
            return None
        try:
            return fn(*args)
        except (NonFiniteGradient, GradtraceWarning):
            raise
        except Exception as e:
            self.enabled = False
            self._detach()
            report_failure(e)
            with contextlib.suppress(Exception):  # keep what was measured before the failure
                self.reporter.flush()
            return None

    def _detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._grad_hook is not None:
            self._grad_hook.remove()
            self._grad_hook = None
        self.profiler.remove()
        self._open = None
