"""From device tensors to records: batch the copy to the host, judge alerts, write the sinks."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from gradtrace.errors import check
from gradtrace.monitor.alerts import Alert, AlertGate, emit
from gradtrace.monitor.history import History
from gradtrace.monitor.norms import MISSING, Norms, ParamIndex
from gradtrace.monitor.profile_rules import profile_alerts, profile_record
from gradtrace.monitor.profiling import Profiled
from gradtrace.monitor.records import StepRecord
from gradtrace.monitor.rules import StepRules
from gradtrace.monitor.sinks import Sink
from gradtrace.monitor.thresholds import Thresholds

logger = logging.getLogger("gradtrace")


@dataclass
class MeasuredStep:
    """One step as measured on the device; nothing here has been copied to the host yet."""

    step: int
    norms: Norms
    post: torch.Tensor | None = None  # global norm after clipping; None: nothing clipped it
    clipped: torch.Tensor | bool = False
    skipped: bool = False
    subnormal: torch.Tensor | None = None  # count of subnormal entries in the sample
    sample_size: int = 0
    loss: torch.Tensor | float | None = None  # from monitor.log(loss=...), still on the device
    lr: list[Any] = field(default_factory=list)  # per param group (floats or 0-dim tensors)


class Reporter:
    """Holds measured steps until a flush, then turns them into records, alerts and sink writes.

    Every process keeps the history; only the main process (rank 0) judges alerts and writes
    sinks, so a DDP run reports once. A sink that raises is switched off alone, with one logged
    error (it moves from ``sinks`` to ``failed_sinks``); the other sinks and the monitor go on.
    """

    def __init__(
        self,
        index: ParamIndex,
        thresholds: Thresholds,
        rules: StepRules,
        *,
        sinks: list[Sink],
        history: History,
        is_main: bool,
        warn: bool,
    ) -> None:
        self.index = index
        self.thresholds = thresholds
        self.rules = rules
        self.sinks = sinks
        self.failed_sinks: list[tuple[Sink, Exception]] = []
        self.history = history
        self.is_main = is_main
        self.warn = warn
        self.gate = AlertGate(cooldown=thresholds.cooldown)
        self._steps: list[MeasuredStep] = []
        self._profiles: list[tuple[int, Profiled]] = []

    def extend(self, index: ParamIndex) -> None:
        """Switch to a grown index (parameters added to the optimizer); flush before calling."""
        self.index = index
        self.rules.add_layers(index.layers)

    @property
    def pending(self) -> int:
        """Steps waiting for the next flush."""
        return len(self._steps)

    def add(self, measured: MeasuredStep, profiled: Profiled | None = None) -> None:
        """Queue a measured step (and what was traced on it, if anything)."""
        self._steps.append(measured)
        if profiled is not None:
            self._profiles.append((measured.step, profiled))

    def flush(self) -> None:
        """Copy the queued norms to the host in one transfer and report them."""
        steps, self._steps = self._steps, []
        profiles, self._profiles = self._profiles, []
        if steps:
            _logged_to_host(steps)
            for measured, row in zip(steps, _to_host(steps), strict=True):
                self._report_step(self._record(measured, row))
        for step, profiled in profiles:
            self._report_profile(step, profiled)
        if self.is_main:
            self._each("flush")

    def close_sinks(self) -> None:
        """Close every sink (main process only); a sink that fails to close is logged, skipped.

        Sinks switched off by a failure are closed too (quietly), so their files are released.
        """
        if not self.is_main:
            return
        for sink in self.sinks:
            try:
                sink.close(self.history)
            except Exception as e:
                logger.warning("gradtrace monitor: closing %s failed (%s)", type(sink).__name__, e)
        for sink, _ in self.failed_sinks:
            try:
                sink.close(self.history)
            except Exception as e:
                logger.debug("gradtrace monitor: closing failed %s (%s)", type(sink).__name__, e)

    def _each(self, method: str, *args: Any) -> None:
        """Call ``method`` on every live sink; one that raises is switched off alone."""
        for sink in list(self.sinks):
            try:
                getattr(sink, method)(*args)
            except Exception as e:
                self.sinks.remove(sink)
                self.failed_sinks.append((sink, e))
                logger.error(
                    "gradtrace monitor: sink %s failed in %s (%s: %s); that sink is off, "
                    "the other sinks and the monitor carry on",
                    type(sink).__name__, method, type(e).__name__, e, exc_info=e,
                )  # fmt: skip

    def _record(self, measured: MeasuredStep, row: Any) -> StepRecord:
        names = self.index.names
        params, layers = row[HEAD : HEAD + len(names)], row[HEAD + len(names) :]
        sample = measured.sample_size
        subnormal = row[3] / sample if sample and row[3] >= 0 else math.nan
        return StepRecord(
            step=measured.step,
            global_norm=float(row[0]),
            global_norm_clipped=float(row[1]),
            clipped=bool(row[2]),
            skipped=measured.skipped,
            nonfinite=[n for n, v in zip(names, params, strict=True) if not math.isfinite(v)],
            subnormal_fraction=float(subnormal),
            layers={
                self.index.layers[i]: float(layers[i]) for i in self._layers_with(measured.norms)
            },
            params={
                n: None if v == MISSING else float(v) for n, v in zip(names, params, strict=True)
            },
            loss=None if measured.loss is None else float(measured.loss),
            lr=[float(v) for v in measured.lr],
        )

    def _layers_with(self, norms: Norms) -> list[int]:
        """Indices of the layers with at least one gradient (all of them, usually)."""
        if len(norms.present) == len(self.index.names):
            return list(range(len(self.index.layers)))
        return sorted({self.index.layer_ids[i] for i in norms.present})

    def _report_step(self, rec: StepRecord) -> None:
        self.history.add_step(rec)
        if not self.is_main:
            return
        self._each("write_step", rec)
        for alert in self.rules.check(rec):
            self._show(alert)

    def _report_profile(self, step: int, profiled: Profiled) -> None:
        eps = self.thresholds.horizon_eps
        profile, health = profiled.profile, profiled.health
        rec = profile_record(step, profile, health=health, eps=eps)
        self.history.add_profile(rec)
        if not self.is_main:
            return
        self._each("write_profile", rec)
        for alert in profile_alerts(
            step, profile, health=health, eps=eps, context=self.advice_context(profile)
        ):
            self._show(alert)

    built = False  # the model was built by gradtrace (advice speaks ModelSpec fields)
    paths: frozenset[str] = frozenset()  # the model's module paths, for advice
    attention: tuple[str, ...] = ()  # the model's attention modules, for advice

    def advice_context(self, profile: Any) -> Any:
        """What the advice may say about this model and what its loop does (clipping)."""
        from gradtrace.diagnosis.speak import AdviceContext

        loop = self.rules.loop_clip
        median = self.rules.typical_norm
        return AdviceContext(
            built=self.built,
            layers=tuple(layer.name for layer in profile.layers),
            seq_len=max((int(layer.seq_len) for layer in profile.layers), default=None),
            clip_rate=None if loop is None else loop[0],
            clipped_to=None if loop is None else loop[1],
            typical_norm=median,
            paths=self.paths,
            attention=self.attention,
        )

    def _show(self, alert: Alert) -> None:
        if not self.gate.admit(alert):
            return
        self.history.add_alert(alert)
        self._each("write_alert", alert)
        emit(alert, warn=self.warn)


def logged_values(*, loss: Any, lr: Any) -> dict[str, Any]:
    """Validate what ``Monitor.log`` was given (no host sync: only shapes are looked at)."""
    out: dict[str, Any] = {}
    if loss is not None:
        ok = isinstance(loss, torch.Tensor) and loss.numel() == 1 and loss.is_floating_point()
        ok = ok or (isinstance(loss, int | float) and not isinstance(loss, bool))
        check(ok, "loss", type(loss).__name__, "a number or a one-element floating-point tensor")
        out["loss"] = loss.detach() if isinstance(loss, torch.Tensor) else float(loss)
    if lr is not None:
        values = list(lr) if isinstance(lr, list | tuple) else [lr]
        ok = all(isinstance(v, int | float | torch.Tensor) for v in values) and bool(values)
        check(ok, "lr", lr, "a number, or a list of one number per param group")
        out["lr"] = values
    return out


def learning_rates(optimizer: Any) -> list[Any]:
    """The learning rate of each param group ([] without an optimizer or an "lr" entry)."""
    if optimizer is None:
        return []
    groups = [group.get("lr") for group in optimizer.param_groups]
    if any(lr is None for lr in groups):
        return []
    # a tensor lr (capturable optimizers) is updated in place by schedulers: keep this step's
    return [lr.detach().clone() if isinstance(lr, torch.Tensor) else lr for lr in groups]


HEAD = 4  # columns before the per-parameter norms in _to_host's array


def _to_host(steps: list[MeasuredStep]) -> Any:
    """(S, 4 + P + L) float64 array: total, post-clip, clipped, subnormal count, params, layers."""
    first = steps[0].norms.total
    missing = first.new_tensor(-1.0)
    head = [
        torch.stack([m.norms.total for m in steps]),
        torch.stack([m.norms.total if m.post is None else m.post for m in steps]),
        torch.stack([torch.as_tensor(m.clipped, device=first.device) for m in steps]),
        torch.stack([missing if m.subnormal is None else m.subnormal for m in steps]),
    ]
    columns = torch.stack([c.to(first.dtype) for c in head], dim=1)  # (S, 4)
    params = torch.stack([m.norms.params for m in steps])  # (S, P)
    layers = torch.stack([m.norms.layers for m in steps])  # (S, L)
    return torch.cat([columns, params, layers], dim=1).to("cpu", torch.float64).numpy()


def _logged_to_host(steps: list[MeasuredStep]) -> None:
    """Turn each step's loss and learning rates into Python floats, in place.

    Tensors given on the device are stacked in their own dtype and copied in one transfer per
    flush (none when every value is already a number), so nothing is rounded on the way.
    """
    tensors = [m.loss for m in steps if isinstance(m.loss, torch.Tensor)]
    tensors += [v for m in steps for v in m.lr if isinstance(v, torch.Tensor)]
    if not tensors:
        return
    values = iter(_floats(tensors))
    for m in steps:
        if isinstance(m.loss, torch.Tensor):
            m.loss = next(values)
    for m in steps:
        m.lr = [next(values) if isinstance(v, torch.Tensor) else v for v in m.lr]


def _floats(tensors: list[torch.Tensor]) -> list[float]:
    """The values of 0-dim tensors, one stack (and copy) per device, in their widest dtype."""
    out: list[float] = [0.0] * len(tensors)
    by_device: dict[torch.device, list[int]] = {}
    for i, t in enumerate(tensors):
        by_device.setdefault(t.device, []).append(i)
    for idx in by_device.values():
        dtype = functools.reduce(torch.promote_types, (tensors[i].dtype for i in idx))
        stacked = torch.stack([tensors[i].detach().reshape(()).to(dtype) for i in idx])
        for i, value in zip(idx, stacked.to("cpu", torch.float64).tolist(), strict=True):
            out[i] = value
    return out
