"""Memory of one training step, counted exactly: tensors saved for backward plus parameters.

On CPU the process high-water mark (what the trainer records) is a lower bound that reads 0
when an earlier run in the same worker went higher, so it cannot compare architectures run in
long-lived workers. What differs between architectures is what autograd keeps for the
backward pass; this counts it with saved-tensor hooks (each storage once) over one forward
pass of a training batch, and adds parameters, gradients and two Adam moments.
"""

from __future__ import annotations

from typing import Any

import torch

MB = 2.0**20


def step_memory_mb(model_spec: Any, task_spec: Any, train_spec: Any) -> dict[str, float]:
    """{"activations_mb", "parameters_mb", "step_memory_mb"} of one training step.

    With truncated BPTT only one chunk's activations are alive at a time, so the forward
    covers min(T, tbptt) steps.
    """
    from gradtrace.models import build_model
    from gradtrace.tasks import make_task
    from gradtrace.training import fit_model_spec

    task = make_task(task_spec)
    spec = fit_model_spec(model_spec, task)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(spec)
        x, _ = task.sample(train_spec.batch_size, generator=torch.Generator().manual_seed(0))
    if train_spec.tbptt is not None:
        x = x[:, : train_spec.tbptt]
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}  # counted below
    saved = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            saved += storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    # parameters, their gradients and Adam's two moments
    parameters_mb = 4 * params / MB
    return {
        "activations_mb": saved / MB,
        "parameters_mb": parameters_mb,
        "step_memory_mb": saved / MB + parameters_mb,
    }
