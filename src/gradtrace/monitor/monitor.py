"""``Monitor``: always-on gradient health for any PyTorch training loop, attached in three lines.

Each step costs a handful of fused ops and no host synchronization: norms stay on the device
and are copied to the host every ``flush_every`` steps, where alerts are judged and sinks written
(alerts therefore name the step they concern and arrive up to ``flush_every`` steps late).
``on_nonfinite="skip"`` and ``"raise"`` need a decision before the optimizer step, so they read one
boolean per step (one sync on GPU).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gradtrace import display
from gradtrace.diagnosis.speak import attention_paths
from gradtrace.errors import check, check_choice
from gradtrace.monitor.alerts import Alert
from gradtrace.monitor.history import History
from gradtrace.monitor.hooks import MonitorHooks
from gradtrace.monitor.measuring import CLIP_TOLERANCE as CLIP_TOLERANCE
from gradtrace.monitor.measuring import StepMeasuring
from gradtrace.monitor.norms import NormMeter, Norms, ParamIndex, unwrap
from gradtrace.monitor.profiling import ProfileScheduler
from gradtrace.monitor.reporter import MeasuredStep, Reporter, learning_rates, logged_values
from gradtrace.monitor.rules import StepRules
from gradtrace.monitor.sinks import Sink
from gradtrace.monitor.summary import print_summary
from gradtrace.monitor.thresholds import Thresholds
from gradtrace.monitor.wiring import (
    as_sink,
    built_by_gradtrace,
    check_int,
    is_main_process,
    optimizers_of,
    recurrent_kinds,
    thresholds_of,
)

logger = logging.getLogger("gradtrace")


class Monitor(MonitorHooks, StepMeasuring):
    """Watches the gradients of ``model`` on every optimizer step and says what is wrong.

    With an ``optimizer`` nothing else is needed: a step pre-hook measures the gradients right
    before each ``optimizer.step()``. Without one, call ``monitor.step()`` after ``backward()``.
    The raw gradients are measured by themselves when each backward pass ends, and the final
    ones when the step is recorded: clipping, unscaling or any change your loop makes in
    between shows as raw vs final norm and your own clip rate. Patterns (each in the README):
    your own ``clip_grad_norm_`` needs nothing; with a closure (LBFGS) or manual optimization,
    pass no optimizer and call ``monitor.step()`` after ``optimizer.step(closure)``; with a
    ``GradScaler`` pass ``scaler=scaler``; with several optimizers pass the list.

    Args:
        model: the module whose trainable parameters are watched (DDP wrappers are looked through).
        optimizer: a torch optimizer to hook, a list of them (the first one's step records the
            step; all are searched for parameters added later), or None for explicit
            ``step()`` calls.
        clip: None, "norm" or "value": let the monitor clip (exactly like
            ``clip_grad_norm_`` / ``clip_grad_value_``) so both norms are exact.
        clip_value: max norm (clip="norm") or max absolute value (clip="value").
        profile_every: trace the gradient through time of every recurrent layer on steps
            0, every, 2*every, ... (0 turns profiles off).
        on_nonfinite: "warn" (alert), "skip" (alert and skip the optimizer step: every .grad is
            set to None, and torch optimizers leave parameters without a gradient untouched,
            state included) or "raise" (NonFiniteGradient naming the parameters).
        sinks: Sink objects, or paths ending in ".jsonl"; written by the main process only.
        thresholds: a Thresholds (or a dict of its fields) for the alerts.
        flush_every: steps between copies of the norms to the host.
        subnormal_every: count subnormal gradient entries on every n-th step (0: never); the
            other steps record nan. A count costs about as much as the norms themselves.
        subnormal_sample: entries sampled per gradient to count subnormals (None: all).
        history_size: points kept per series in ``monitor.history`` before halving.
        warn: also raise each alert as a GradtraceWarning (it always goes to logging).
        cells: more one-step cells to profile, as for ``gradtrace.trace``.
        scaler: a ``torch.amp.GradScaler`` whose scaled gradients the raw norms are unscaled
            from (its scale is read on the device, no sync).

    Nothing of the monitor is stored on the model (its hooks sit on the optimizer, and a
    profiled step uses global module hooks only while it runs), so ``torch.save(model)``,
    ``copy.deepcopy`` and ``state_dict`` are what they would be without it, and profiled steps
    leave training bit-identical (see ``monitor.profiling``). Parameters added to the optimizer
    later are measured (and clipped) from the next step on.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        clip: str | None = None,
        clip_value: float = 1.0,
        profile_every: int = 100,
        on_nonfinite: str = "warn",
        sinks: list[Sink | str | Path] | tuple = (),
        thresholds: Thresholds | dict | None = None,
        flush_every: int = 25,
        subnormal_every: int = 10,
        subnormal_sample: int | None = 4096,
        history_size: int = 10_000,
        warn: bool = True,
        cells: Any = None,
        scaler: Any = None,
    ) -> None:
        check(isinstance(model, nn.Module), "model", type(model).__name__, "a torch.nn.Module")
        optimizers = optimizers_of(optimizer)
        check_choice("clip", clip, [None, "norm", "value"])
        ok = isinstance(clip_value, int | float) and math.isfinite(clip_value) and clip_value > 0
        check(ok, "clip_value", clip_value, "a finite number > 0")
        check_choice("on_nonfinite", on_nonfinite, ["warn", "skip", "raise"])
        check(isinstance(warn, bool), "warn", warn, "True or False")
        check_int("profile_every", profile_every, least=0)
        check_int("flush_every", flush_every, least=1)
        check_int("history_size", history_size, least=2)
        check_int("subnormal_every", subnormal_every, least=0)
        if subnormal_sample is not None:
            check_int("subnormal_sample", subnormal_sample, least=1)
        self.thresholds = thresholds_of(thresholds)
        self.index = ParamIndex.of(model)
        check(bool(self.index.params), "model", type(model).__name__, "a module with parameters")
        self.model, self.optimizers = model, optimizers
        self.optimizer = optimizers[0] if optimizers else None  # the one whose step records
        self.scaler = scaler
        self.clip, self.clip_value, self.on_nonfinite = clip, float(clip_value), on_nonfinite
        self.flush_every, self.subnormal_sample = flush_every, subnormal_sample
        self.subnormal_every = subnormal_every
        self.history = History(max_points=history_size)
        rules = StepRules(
            self.index.layers,
            self.thresholds,
            clip=clip,
            clip_value=self.clip_value,
            on_nonfinite=on_nonfinite,
            kinds=recurrent_kinds(model, self.index),
        )
        self.reporter = Reporter(
            self.index,
            self.thresholds,
            rules,
            sinks=[as_sink(sink) for sink in sinks],
            history=self.history,
            is_main=is_main_process(),
            warn=warn,
        )
        self.reporter.built = built_by_gradtrace(model)
        self.reporter.paths = frozenset(p for p, _ in unwrap(model).named_modules())
        self.reporter.attention = attention_paths(unwrap(model))
        self.step_count = 0  # the index of the next step to be recorded
        self.enabled = True
        self._closed = False
        self._meter = NormMeter(self.index)
        self._open: MeasuredStep | None = None
        self._profiled: Any = None  # a profile collected by observe(), for the next record
        self._raw: tuple[Norms, tuple, tuple] | None = None  # (norms, present, grad versions)
        self._queued = False  # a callback is queued for the end of the running backward
        self._manual = False  # step() ran since the last optimizer step
        self._handles: list[Any] = []
        self._grad_hook: Any = None
        self._pending_log: dict[str, Any] = {}  # loss / lr given through log() for this step
        self._group_sizes = self._optimizer_sizes()
        self.profiler = ProfileScheduler(
            model, every=profile_every, is_due=self._profile_due, cells=cells
        )
        self.profiler.install()
        self._hook_backward()
        if self.optimizer is not None:
            hook = self.optimizer.register_step_pre_hook(self._before_optimizer_step)
            self._handles.append(hook)

    # -- the user-facing calls ---------------------------------------------------------------

    def observe(self) -> None:
        """Measure the gradients now as this step's raw ones (done by itself after each backward).

        The monitor measures the gradients at the end of every backward pass on its own, so your
        own clipping (or unscaling) between ``backward()`` and ``optimizer.step()`` shows as the
        difference between the raw and the final norms; call this only to move that point.
        """
        self._safely(self._measure_raw)
        self.collect_profile()

    def step(self, *, loss: Any = None, lr: Any = None) -> None:
        """Record a step: call after ``backward()`` (and your own clipping) without an optimizer.

        ``loss`` and ``lr``, when given, are logged first, as by `log`.
        """
        if loss is not None or lr is not None:
            self.log(loss=loss, lr=lr)
        self._safely(self._step)
        self._manual = self.optimizer is not None  # the optimizer's hook must not record it again

    def log(self, *, loss: Any = None, lr: Any = None) -> None:
        """Give the loss (and the learning rate, without an optimizer) of the step being recorded.

        Call before ``optimizer.step()`` (or ``monitor.step()``). A loss tensor stays on its
        device until the next flush copies it with the norms: no host sync per step. With an
        optimizer the learning rate of each param group is read by itself.
        """
        self._pending_log.update(logged_values(loss=loss, lr=lr))

    def flush(self) -> None:
        """Copy pending norms to the host, judge alerts and write the sinks."""
        self._safely(self.reporter.flush)

    def summary(self, *, console: Any = None) -> None:
        """Print the Rich summary table (stderr by default) and return None (shown once).

        In a notebook ``monitor`` alone displays the same table; ``summary_table(history)``
        builds it as a Rich Table.
        """
        self.flush()
        print_summary(self.history, console=console)

    @property
    def alerts(self) -> list[Alert]:
        """The alerts shown so far (after de-duplication)."""
        return self.history.alerts

    @property
    def sinks(self) -> list[Sink]:
        """The sinks records are written to."""
        return self.reporter.sinks

    def close(self) -> None:
        """Remove every hook, write what is pending and close the sinks (safe to call twice)."""
        self._detach()
        self._safely(self.reporter.flush)
        if not self._closed:  # sinks are closed even after a failure turned monitoring off
            self.reporter.close_sinks()
        self.enabled, self._closed = False, True

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one step ----------------------------------------------------------------------------

    def _profile_due(self) -> bool:
        return self.profiler.every > 0 and self.step_count % self.profiler.every == 0

    def _step(self) -> None:
        self._observe()
        self._finish()

    def collect_profile(self) -> None:
        """Collect an open profile now, while the parameters are those of the forward (call it
        before ``optimizer.step()`` when the monitor records after it, as integrations do)."""
        if self.enabled and self.profiler.active:
            self._profiled = self._safely(self.profiler.collect)

    def _finish(self) -> None:
        measured, self._open = self._open, None
        profile, self._profiled = self._profiled or self.profiler.collect(), None
        if measured is None:
            return
        given, self._pending_log = self._pending_log, {}
        measured.loss = given.get("loss")
        measured.lr = given.get("lr") or learning_rates(self.optimizer)
        self.reporter.add(measured, profile)
        self.step_count += 1
        self.profiler.start_if_due()  # the next step's forward runs observed
        if self.reporter.pending >= self.flush_every or profile is not None:
            self.reporter.flush()

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return display.monitor_repr(self)

    def _repr_html_(self) -> str:
        return display.monitor_html(self)

    def __rich__(self) -> Any:
        return display.monitor_rich(self)
