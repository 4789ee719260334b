"""train(): one run of one model on one task, always returned as a RunRecord, never a crash."""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gradtrace.tasks import Task, TaskSpec, make_task
from gradtrace.training.clipping import clip_gradients_
from gradtrace.training.curve import Curve
from gradtrace.training.profiles import Snapshots, profile_snapshot, profile_step
from gradtrace.training.record import RunRecord, finite, summarize
from gradtrace.training.runtime import PeakMemory, pick_device, run_settings
from gradtrace.training.setup import check_compatible, make_optimizer
from gradtrace.training.spec import TrainSpec
from gradtrace.training.stateful import supports_chunks
from gradtrace.training.tbptt import forward_backward


@dataclass(frozen=True)
class StepProgress:
    """What `on_step` receives after every training step."""

    step: int
    max_steps: int
    loss: float | None
    metric: float | None  # latest held-out metric (None before the first evaluation)
    elapsed_s: float
    max_seconds: float | None


def train(
    model_spec: Any,
    task_spec: Any,
    train_spec: Any,
    *,
    on_step: Callable[[StepProgress], None] | None = None,
    keep_on_interrupt: bool = False,
) -> RunRecord:
    """Train one model on one task and return what happened.

    Specs may be spec objects or dicts of their fields. Invalid or incompatible specs raise a
    one-line ValueError before any work starts; once the run starts, a non-finite loss or
    gradient norm ends it with status "diverged" and any exception with status "failed" (the
    error text in ``record.error``), keeping everything measured until then. The run executes
    with subnormal floats flushed to zero (they slow CPU arithmetic 5-10x when gradients
    vanish), ``train_spec.threads`` torch threads, and a private RNG seeded with
    ``train_spec.seed``: the same specs give the same numbers on CPU. With
    ``keep_on_interrupt``, Ctrl-C ends the run as "failed" (error "KeyboardInterrupt: ...")
    and returns what was measured instead of raising.
    """
    from gradtrace.models import ModelSpec

    model_spec = model_spec if isinstance(model_spec, ModelSpec) else ModelSpec(**model_spec)
    task_spec = task_spec if isinstance(task_spec, TaskSpec) else TaskSpec(**task_spec)
    train_spec = train_spec if isinstance(train_spec, TrainSpec) else TrainSpec(**train_spec)
    task = make_task(task_spec)
    fitted = check_compatible(model_spec, task, train_spec)
    device = pick_device(train_spec.device)
    return _Run(fitted, task, train_spec, device, on_step).execute(keep_on_interrupt)


class _Run:
    """The mutable state of one run; `execute` fills it and turns it into a RunRecord."""

    def __init__(self, model_spec: Any, task: Task, spec: TrainSpec, device, on_step) -> None:
        self.model_spec, self.task, self.spec, self.device = model_spec, task, spec, device
        self.on_step = on_step
        self.status: str | None = None
        self.out_of_time = False  # the clock stopped the run before max_steps
        self.error: str | None = None
        self.steps = 0
        self.steps_to_solve: int | None = None
        self.step_seconds = 0.0
        self.loss_curve = Curve(reduce="mean")
        self.eval_curve = Curve(reduce="last")
        self.final_loss: float | None = None
        self.metric: float | None = None
        self.eval_loss: float | None = None
        self.best_metric: float | None = None
        self.norms_pre, self.norms_post = array("d"), array("d")
        self.clipped = 0
        self.profiles: dict[str, dict[str, Any]] | None = {} if spec.profiles else None
        self.n_params = 0
        self.threads = torch.get_num_threads()
        self.memory: PeakMemory | None = None

    def execute(self, keep_on_interrupt: bool = False) -> RunRecord:
        """Run under the run settings; turn divergence and exceptions into statuses."""
        started = time.perf_counter()
        try:
            with run_settings(threads=self.spec.threads, seed=self.spec.seed, device=self.device):
                self.threads = torch.get_num_threads()
                self._train()
        except Exception as e:
            self.status, self.error = "failed", f"{type(e).__name__}: {e}"
        except KeyboardInterrupt:
            if not keep_on_interrupt:
                raise
            self.status, self.error = "failed", "KeyboardInterrupt: interrupted by the user"
        return self._record(time.perf_counter() - started)

    def _train(self) -> None:
        from gradtrace.models import build_model

        spec, task = self.spec, self.task
        self.memory = PeakMemory(self.device)
        model = build_model(self.model_spec).to(self.device)
        if spec.tbptt is not None and not supports_chunks(model):
            raise TypeError(f"tbptt cannot run {type(model).__name__} in chunks")
        params = [p for p in model.parameters() if p.requires_grad]
        self.n_params = sum(p.numel() for p in params)
        optimizer = make_optimizer(params, spec)
        train_gen, eval_gen, profile_gen = (
            torch.Generator().manual_seed(int(s.generate_state(1)[0]))
            for s in np.random.SeedSequence(spec.seed).spawn(3)
        )
        x_eval, y_eval = self._to_device(
            task.sample(spec.eval_batch_size, generator=eval_gen, split="held_out")
        )
        x_prof, y_prof, snapshots = None, None, Snapshots()
        if self.profiles is not None:
            x_prof, y_prof = self._to_device(task.sample(spec.batch_size, generator=profile_gen))
            self.profiles["start"] = profile_step(model, task, x_prof, y_prof, step=0)
        model.train()
        # CPU work is synchronous, so reading the step's numbers costs nothing; on CUDA they
        # are read in groups so that the GPU is not stalled every step.
        sync_every = 1 if self.device.type == "cpu" else 16
        pending: list[torch.Tensor] = []
        loop_start = time.perf_counter()
        for step in range(1, spec.max_steps + 1):
            tick = time.perf_counter()
            x, y = self._to_device(task.sample(spec.batch_size, generator=train_gen))
            optimizer.zero_grad(set_to_none=True)
            loss = forward_backward(
                model, task, x, y, tbptt=spec.tbptt, vanishing_reg=spec.vanishing_reg
            )
            pre, post, clipped = clip_gradients_(params, clip=spec.clip, clip_value=spec.clip_value)
            pending.append(torch.stack([loss.float(), pre.float(), post.float(), clipped.float()]))
            if len(pending) >= sync_every and self._absorb(pending, step):
                break  # diverged: the non-finite step is not applied
            optimizer.step()
            self.step_seconds += time.perf_counter() - tick
            self.steps = step
            if self.profiles is not None:
                snapshots.maybe_take(step, model)
            if step % spec.eval_every == 0 and self._evaluate(model, x_eval, y_eval, step):
                break
            elapsed = time.perf_counter() - loop_start
            if self.on_step is not None:
                self.on_step(
                    StepProgress(
                        step=step,
                        max_steps=spec.max_steps,
                        loss=self.final_loss,
                        metric=self.metric,
                        elapsed_s=elapsed,
                        max_seconds=spec.max_seconds,
                    )
                )
            if spec.max_seconds is not None and elapsed >= spec.max_seconds:
                self.out_of_time = step < spec.max_steps
                break
        if pending:
            self._absorb(pending, self.steps)
        if self.status is None:
            if self.steps % spec.eval_every != 0:
                self._evaluate(model, x_eval, y_eval, self.steps)
            self.status = self.status or ("out_of_time" if self.out_of_time else "unsolved")
        if self.profiles is not None:
            middle = snapshots.middle(self.steps)
            if middle is not None:
                self.profiles["middle"] = profile_snapshot(
                    model, middle[1], task, x_prof, y_prof, step=middle[0]
                )
            self.profiles["end"] = profile_step(model, task, x_prof, y_prof, step=self.steps)

    def _absorb(self, pending: list[torch.Tensor], step: int) -> bool:
        """Record the pending steps' numbers; True (status "diverged") at a non-finite one."""
        rows = torch.stack(pending).tolist()
        pending.clear()
        first = step - len(rows) + 1
        for offset, (loss, pre, post, clipped) in enumerate(rows):
            if not (math.isfinite(loss) and math.isfinite(pre)):
                self.status = "diverged"
                self.steps = first + offset - 1
                self.final_loss = finite(loss)
                return True
            self.loss_curve.add(first + offset, loss)
            self.final_loss = loss
            self.norms_pre.append(pre)
            self.norms_post.append(post)
            self.clipped += int(clipped)
        return False

    def _evaluate(self, model, x_eval, y_eval, step: int) -> bool:
        """Score the held-out batch; True (status "solved") when the task's criterion is met."""
        model.eval()
        with torch.no_grad():
            out = model(x_eval)
            metric = self.task.metric(out, y_eval)
            self.eval_loss = finite(float(self.task.loss(out, y_eval)))
        model.train()
        self.metric = finite(metric)
        self.eval_curve.add(step, metric)
        best = self.best_metric
        if self.metric is not None and (
            best is None
            or (self.metric > best if self.task.higher_is_better else self.metric < best)
        ):
            self.best_metric = self.metric
        if self.task.solved(metric):
            self.status, self.steps_to_solve = "solved", step
            return True
        return False

    def _to_device(self, batch: tuple[torch.Tensor, torch.Tensor]):
        return tuple(t.to(self.device, non_blocking=True) for t in batch)

    def _record(self, wall: float) -> RunRecord:
        steps = len(self.norms_pre)
        return RunRecord(
            status=self.status or "failed",
            steps=self.steps,
            steps_to_solve=self.steps_to_solve,
            metric=None if self.status == "diverged" else self.metric,
            best_metric=self.best_metric,
            metric_name=self.task.metric_name,
            higher_is_better=self.task.higher_is_better,
            baseline=self.task.baseline,
            eval_loss=None if self.status == "diverged" else self.eval_loss,
            final_loss=finite(self.final_loss),
            loss_curve=self.loss_curve.points(),
            eval_curve=self.eval_curve.points(),
            wall_time_s=wall,
            time_per_step_s=self.step_seconds / self.steps if self.steps else None,
            peak_memory_mb=self.memory.peak_mb() if self.memory else None,
            memory_method=self.memory.method if self.memory else "none",
            n_params=self.n_params,
            grad_norm_pre=summarize(np.frombuffer(self.norms_pre, dtype=np.float64)),
            grad_norm_post=summarize(np.frombuffer(self.norms_post, dtype=np.float64)),
            clip_rate=self.clipped / steps if steps else None,
            profiles=self.profiles,
            model_spec=self.model_spec.model_dump(),
            task_spec=self.task.spec.to_dict(),
            train_spec=self.spec.to_dict(),
            seed=self.spec.seed,
            torch_version=torch.__version__,
            device=str(self.device),
            threads=self.threads,
            error=self.error,
        )
