"""Packed runs: train several runs of one architecture together in one process (torch.func.vmap).

Runs that differ only in seed and learning rate share every shape, so their parameters stack into
one set of (N, ...) tensors (torch.func.stack_module_state) and one vmapped forward and backward
computes all N gradients with batched kernels: on a CPU, where a small recurrent step is
latency-bound, N steps cost little more than one. Each run keeps its own initialisation (built
from its seed under the trainer's run settings), its own batches (drawn from its seed's training
generator, as ``train`` draws them) and its own learning rate; the optimizer (SGD or Adam, the
update rules of torch.optim's defaults) works on the stacked tensors with one rate per run.

Numbers: batched kernels round differently from per-run kernels (torch's fused LSTM/GRU/RNN, or
mm instead of bmm), so a packed run equals the same run trained alone (``train_alone``) to
float32 rounding (relative ~1e-6 after a few steps, tested), not bit for bit. Studies promise
numbers identical to ``train``, so they keep training runs one by one; where packing pays on
which cell is measured by benchmarks/bench_packed.py.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from gradtrace.errors import InvalidValue, check
from gradtrace.tasks import Task, TaskSpec, make_task
from gradtrace.training.runtime import pick_device, run_settings
from gradtrace.training.setup import fit_model_spec

OPTIMIZERS = ("adam", "sgd")
BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


@dataclass
class PackedRuns:
    """What packed (or lone) training returns: per-step losses and final parameters per run."""

    seeds: list[int]
    lrs: list[float]
    losses: torch.Tensor  # (steps, N) training loss of every run at every step
    params: list[dict[str, torch.Tensor]]  # final parameters of each run, by name


def _setup(model_spec: Any, task_spec: Any, seeds, lrs, steps, batch_size, optimizer):
    from gradtrace.models import ModelSpec

    model_spec = model_spec if isinstance(model_spec, ModelSpec) else ModelSpec(**model_spec)
    task_spec = task_spec if isinstance(task_spec, TaskSpec) else TaskSpec(**task_spec)
    check(len(seeds) >= 1, "seeds", seeds, "at least one seed")
    check(len(lrs) == len(seeds), "lrs", lrs, f"one learning rate per seed ({len(seeds)})")
    check(all(lr > 0 for lr in lrs), "lrs", lrs, "positive numbers")
    check(isinstance(steps, int) and steps >= 1, "steps", steps, "an integer >= 1")
    check(isinstance(batch_size, int) and batch_size >= 1, "batch_size", batch_size, ">= 1")
    if optimizer not in OPTIMIZERS:
        raise InvalidValue("optimizer", optimizer, "one of " + ", ".join(OPTIMIZERS))
    task = make_task(task_spec)
    return fit_model_spec(model_spec, task), task


def _build(model_spec: Any, seed: int, device: torch.device) -> torch.nn.Module:
    """The run's model, initialised exactly as ``train`` initialises it."""
    from gradtrace.models import build_model

    with run_settings(threads=None, seed=seed, device=device):
        return build_model(model_spec).to(device)


def _train_generator(seed: int) -> torch.Generator:
    """The generator ``train`` draws a run's training batches from."""
    state = np.random.SeedSequence(seed).spawn(3)[0].generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))


def _batch(task: Task, generators, batch_size: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    pairs = [task.sample(batch_size, generator=g) for g in generators]
    x = torch.stack([p[0] for p in pairs]).to(device)  # (N, B, T, I)
    y = torch.stack([p[1] for p in pairs]).to(device)
    return x, y


class _Optimizer:
    """SGD or Adam (torch.optim's update rules, default hyper-parameters) on stacked tensors."""

    def __init__(self, kind: str, params: dict[str, torch.Tensor], lrs: torch.Tensor) -> None:
        self.kind, self.lrs, self.step_count = kind, lrs, 0  # lrs (N,)
        self.m = {k: torch.zeros_like(v) for k, v in params.items()} if kind == "adam" else {}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()} if kind == "adam" else {}

    def step_(self, params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor]) -> None:
        """Update ``params`` in place from ``grads`` (both (N, ...) per name)."""
        self.step_count += 1
        beta1, beta2 = BETAS
        for name, p in params.items():
            g = grads[name]
            lr = self.lrs.view(-1, *[1] * (p.dim() - 1))
            if self.kind == "sgd":
                p.sub_(lr * g)
                continue
            m, v = self.m[name], self.v[name]
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            step_size = lr / (1 - beta1**self.step_count)
            denom = (v.sqrt() / (1 - beta2**self.step_count) ** 0.5).add_(ADAM_EPS)
            p.sub_(step_size * (m / denom))


def train_packed(
    model_spec: Any,
    task_spec: Any,
    *,
    seeds: list[int],
    lrs: list[float],
    steps: int,
    batch_size: int = 32,
    optimizer: str = "adam",
    device: str = "cpu",
) -> PackedRuns:
    """Train one run per (seed, lr) together for ``steps`` steps; see the module docstring."""
    model_spec, task = _setup(model_spec, task_spec, seeds, lrs, steps, batch_size, optimizer)
    where = pick_device(device)
    models = [_build(model_spec, seed, where) for seed in seeds]
    params, buffers = stack_module_state(models)  # name -> (N, ...)
    params = {k: v.detach().clone() for k, v in params.items()}
    base = copy.deepcopy(models[0]).to("meta")

    def loss_of(p: dict, b: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return task.loss(functional_call(base, (p, b), (x,)), y)

    step = vmap(grad_and_value(loss_of))
    opt = _Optimizer(optimizer, params, torch.tensor(lrs, device=where))
    generators = [_train_generator(seed) for seed in seeds]
    losses = torch.empty(steps, len(seeds))
    with run_settings(threads=None, seed=seeds[0], device=where):  # subnormals flushed
        for t in range(steps):
            x, y = _batch(task, generators, batch_size, where)
            grads, loss = step(params, buffers, x, y)
            opt.step_(params, grads)
            losses[t] = loss.detach().cpu()
    per_run = [{k: v[i].detach().cpu() for k, v in params.items()} for i in range(len(seeds))]
    return PackedRuns(list(seeds), list(lrs), losses, per_run)


def train_alone(
    model_spec: Any,
    task_spec: Any,
    *,
    seed: int,
    lr: float,
    steps: int,
    batch_size: int = 32,
    optimizer: str = "adam",
    device: str = "cpu",
) -> PackedRuns:
    """The reference: one run of the same training with the model's own kernels and torch.optim."""
    model_spec, task = _setup(model_spec, task_spec, [seed], [lr], steps, batch_size, optimizer)
    where = pick_device(device)
    model = _build(model_spec, seed, where)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr)
    generator = _train_generator(seed)
    losses = torch.empty(steps, 1)
    with run_settings(threads=None, seed=seed, device=where):
        for t in range(steps):
            x, y = _batch(task, [generator], batch_size, where)
            opt.zero_grad(set_to_none=True)
            loss = task.loss(model(x[0]), y[0])
            loss.backward()
            opt.step()
            losses[t, 0] = loss.detach().cpu()
    final = {k: v.detach().cpu().clone() for k, v in model.named_parameters()}
    return PackedRuns([seed], [lr], losses, [final])
