"""Is a stalled RNN in a local minimum? The Hessian's extreme eigenvalues at the plateau.

A tanh RNN trained on the adding problem at a length it cannot bridge stalls at the
input-blind baseline with a small gradient. A local minimum has no direction of negative
curvature; a plateau or saddle has some. The top and bottom eigenvalues of the loss's Hessian
come from power iteration on Hessian-vector products (double backward; no Hessian is formed).
"""

from __future__ import annotations

from typing import Any

import torch

from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.measure import build, num, one_thread

HIDDEN = 16
TRAIN_STEPS = 200
POWER_STEPS = 60
NEGATIVE = 1e-3  # a bottom eigenvalue below -NEGATIVE * top counts as negative curvature


def hvp(loss_fn, params: list[torch.Tensor], vector: torch.Tensor) -> torch.Tensor:
    """H v for the Hessian of ``loss_fn()`` in ``params`` (flattened), by double backward."""
    grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    second = torch.autograd.grad(flat @ vector, params)
    return torch.cat([g.reshape(-1) for g in second])


def extreme_eigenvalues(
    loss_fn, params: list[torch.Tensor], *, steps: int = POWER_STEPS, seed: int = 0
) -> tuple[float, float]:
    """(largest, smallest) Hessian eigenvalues by power iteration.

    The dominant eigenvalue's magnitude s bounds the spectrum; power iteration on s + H and
    on s - H (both positive semidefinite) then gives the top and the bottom.
    """
    size = sum(p.numel() for p in params)
    generator = torch.Generator().manual_seed(seed)
    dtype = params[0].dtype

    def power(apply) -> float:
        v = torch.randn(size, generator=generator, dtype=dtype)
        v = v / v.norm()
        value = 0.0
        for _ in range(steps):
            w = apply(v)
            value = float(v @ w)
            norm = w.norm()
            if norm == 0:
                return 0.0
            v = w / norm
        return value

    shift = abs(power(lambda v: hvp(loss_fn, params, v)))
    top = power(lambda v: shift * v + hvp(loss_fn, params, v)) - shift
    bottom = shift - power(lambda v: shift * v - hvp(loss_fn, params, v))
    return top, bottom


def plateau_curvature(
    seq_len: int,
    *,
    seed: int = 0,
    steps: int = TRAIN_STEPS,
    batch: int = 512,
    power_steps: int = POWER_STEPS,
) -> dict[str, Any]:
    """Train a tanh RNN briefly on adding at ``seq_len``; the Hessian's extremes where it ends."""
    from gradtrace.tasks import TaskSpec, make_task

    task = make_task(TaskSpec(name="adding", seq_len=seq_len))
    model = build(
        {"cell": "rnn", "backend": "loop", "input_size": task.input_size, "output_size": 1},
        hidden=HIDDEN,
        seed=seed,
    )
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    with one_thread():
        for _ in range(steps):
            x, y = task.sample(64, generator=generator)
            optimizer.zero_grad()
            task.loss(model(x.double()), y.double()).backward()
            optimizer.step()
        x, y = task.sample(batch, generator=generator, split="held_out")
        x, y = x.double(), y.double()

        def loss_fn() -> torch.Tensor:
            return task.loss(model(x), y)

        loss = loss_fn()
        grad = torch.autograd.grad(loss, params)
        top, bottom = extreme_eigenvalues(loss_fn, params, steps=power_steps, seed=seed)
    return {
        "T": seq_len,
        "steps": steps,
        "loss": float(loss.detach()),
        "baseline": task.baseline,
        "grad_norm": float(torch.sqrt(sum((g * g).sum() for g in grad))),
        "top_eigenvalue": top,
        "bottom_eigenvalue": bottom,
    }


def curvature_verdict(found: dict[str, Any]) -> Finding:
    """Negative curvature at the plateau refutes "stuck in a local minimum" (pure)."""
    top, bottom = found["top_eigenvalue"], found["bottom_eigenvalue"]
    stalled = found["loss"] > 0.5 * found["baseline"]
    summary = (
        f"tanh RNN on adding T={found['T']} after {found['steps']} steps: loss "
        f"{num(found['loss'])} (baseline {num(found['baseline'])}), gradient norm "
        f"{num(found['grad_norm'])}; Hessian eigenvalues from {num(bottom)} to {num(top)}"
    )
    if not stalled:
        return Finding("nuanced", summary + ": the run did not stall here", found)
    if bottom < -NEGATIVE * abs(top):
        return Finding(
            "refuted",
            summary + ": negative curvature, so a plateau or saddle, not a local minimum",
            found,
        )
    return Finding("confirmed", summary + ": no negative curvature found (a minimum)", found)


@claim(
    id="stuck-in-local-minima",
    seeds=("001",),
    text="Small gradients can leave the optimizer stuck in local minima.",
    method="the Hessian's top and bottom eigenvalues (power iteration on Hessian-vector "
    "products, float64) where a tanh RNN stalls on the adding problem at the budget's long T",
    theme="training",
)
def stuck_in_local_minima(ctx: Any) -> Finding:
    """A stalled tanh RNN: is it at a minimum (no negative curvature) or on a plateau?"""
    if ctx.budget.name == "tiny":  # the tests' budget: a taste of each step
        found = plateau_curvature(
            ctx.budget.long_len, seed=ctx.seed, steps=5, batch=32, power_steps=5
        )
    else:
        found = plateau_curvature(ctx.budget.long_len, seed=ctx.seed)
    return curvature_verdict(found)
