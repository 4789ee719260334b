"""Monitor's measuring of one step: raw and final norms, clipping, non-finite gradients."""

from __future__ import annotations

import math
from typing import Any

import torch

from gradtrace.monitor.alerts import NonFiniteGradient
from gradtrace.monitor.norms import NormMeter, Norms, param_norms, subnormal_count
from gradtrace.monitor.reporter import MeasuredStep
from gradtrace.monitor.wiring import added_parameters, unscaled, worst

CLIP_TOLERANCE = 1e-5  # a final norm this much below the raw one counts as clipped by the loop


class StepMeasuring:
    """Monitor's measuring of the gradients of a step, raw (when the backward ends) and final
    (when the step is recorded), with its clipping and its handling of non-finite gradients (a
    mixin of ``Monitor``: it uses the attributes ``Monitor.__init__`` sets)."""

    def _measure_raw(self) -> None:
        grads, present = self._meter.grads()
        if grads:
            norms = self._meter.measure(grads, present)
            if self.scaler is not None:  # GradScaler: the raw gradients are still scaled
                norms = unscaled(norms, self.scaler)
            self._raw = (norms, present, tuple(g._version for g in grads))

    def _optimizer_sizes(self) -> tuple[int, ...]:
        return tuple(len(g["params"]) for opt in self.optimizers for g in opt.param_groups)

    def _grow_index(self) -> None:
        """Take in parameters added to the optimizer since the last step (add_param_group)."""
        sizes = self._optimizer_sizes()
        if sizes == self._group_sizes:
            return
        self._group_sizes = sizes
        extra = added_parameters(self.model, self.optimizers, self.index)
        if not extra:
            return
        self.reporter.flush()  # pending steps were measured with the old index
        self.index = self.index.extended(extra)
        self._meter = NormMeter(self.index)
        self.reporter.extend(self.index)
        self._raw = None
        self._hook_backward()

    def _observe(self) -> None:
        self._grow_index()
        grads, present = self._meter.grads()
        raw, self._raw = self._raw, None
        if not grads:
            return
        versions = tuple(g._version for g in grads)
        if raw is not None and raw[1] == present and raw[2] == versions:
            norms = raw[0]  # nothing touched the gradients since the backward ended
        else:
            norms = self._meter.measure(grads, present)
        before = raw[0] if raw is not None and raw[1] == present else norms
        if before is not norms:  # what the loop made non-finite since the backward counts
            before = worst(before, norms)
        measured = MeasuredStep(self.step_count, before)
        if norms is not before:  # the loop clipped (or unscaled) on its own
            shrunk = norms.total < before.total * (1 - CLIP_TOLERANCE)
            measured.post, measured.clipped = norms.total, shrunk
        if self.on_nonfinite != "warn" and not bool(torch.isfinite(norms.total)):  # one sync
            names = self._nonfinite_names(norms)
            if self.on_nonfinite == "raise":
                self.profiler.abort()
                raise NonFiniteGradient(self.step_count, names)
            self._drop_gradients()
            measured.skipped = True
        else:
            every = self.subnormal_every
            if every and self.step_count % every == 0:
                measured.subnormal, measured.sample_size = subnormal_count(
                    grads, sample=self.subnormal_sample
                )
            if self.clip is not None:
                post, clipped = self._clip(grads, present, norms)
                measured.post = post
                shrunk = post < before.total * (1 - CLIP_TOLERANCE)
                measured.clipped = clipped if norms is before else shrunk
        self._open = measured

    def _clip(self, grads: list, present: tuple, norms: Norms) -> tuple[torch.Tensor, Any]:
        params = [self.index.params[i] for i in present]
        if self.clip == "norm":
            torch.nn.utils.clip_grads_with_norm_(params, self.clip_value, norms.total)
            coef = (self.clip_value / (norms.total + 1e-6)).clamp(max=1.0)  # as torch computes it
            return norms.total * coef, coef < 1.0
        largest = torch.stack(torch._foreach_norm(grads, math.inf)).max()
        torch.nn.utils.clip_grad_value_(params, self.clip_value)
        return torch.linalg.vector_norm(param_norms(grads)), largest > self.clip_value

    def _nonfinite_names(self, norms: Norms) -> list[str]:
        bad = torch.nonzero(~torch.isfinite(norms.params)).flatten().tolist()
        return [self.index.names[i] for i in bad]

    def _drop_gradients(self) -> None:
        params = list(self.index.params)
        params += [p for opt in self.optimizers for g in opt.param_groups for p in g["params"]]
        for p in params:
            p.grad = None
