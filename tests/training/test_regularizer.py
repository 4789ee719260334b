"""Pascanu et al. (2013)'s regularizer against its definition, computed by brute force."""

from __future__ import annotations

import pytest
import torch

from gradtrace.models import ModelSpec, build_model
from gradtrace.tasks import TaskSpec, make_task
from gradtrace.training import TrainSpec, train
from gradtrace.training.regularizer import omega, regularized_backward, unrolled


def _setup(activation: str):
    torch.manual_seed(0)
    model = build_model(
        ModelSpec(cell="rnn", activation=activation, hidden_size=5, input_size=2, output_size=1)
    ).double()
    task = make_task(TaskSpec(name="adding", seq_len=7))
    x, y = task.sample(3, generator=torch.Generator().manual_seed(1))
    return model, task, x.double(), y.double()


def _brute_omega(model, task, x, y) -> torch.Tensor:
    """Omega by full Jacobians of each step, from the definition."""
    layer = model.layers[0]
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    b = layer.bias_ih_l0 + layer.bias_hh_l0
    act = torch.tanh if model.spec.activation == "tanh" else torch.relu
    states = []
    h = torch.zeros(x.shape[0], 5, dtype=x.dtype)
    for t in range(x.shape[1]):
        h = act(x[:, t] @ w_ih.T + b + h @ w_hh.T)
        states.append(h)
    loss = task.loss(model.readout(states[-1]), y)
    grads = torch.autograd.grad(loss, states, retain_graph=True)
    total = torch.zeros((), dtype=x.dtype)
    for k in range(len(states) - 1):
        ratios = []
        for i in range(x.shape[0]):

            def step(prev, i=i, k=k):
                return act(x[i, k + 1] @ w_ih.T + b + prev @ w_hh.T)

            jac = torch.autograd.functional.jacobian(step, states[k][i], create_graph=True)
            g = grads[k + 1][i].detach()
            ratios.append((g @ jac).norm() / g.norm())
        total = total + ((torch.stack(ratios) - 1) ** 2).mean()
    return total, loss


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_omega_and_its_gradient_match_the_definition(activation):
    model, task, x, y = _setup(activation)
    brute, loss_brute = _brute_omega(model, task, x, y)
    states, pre = unrolled(model, x)
    loss = task.loss(model.readout(states[-1]), y)
    assert torch.allclose(loss, task.loss(model(x), y), atol=1e-12)  # same function as torch's
    grads = torch.autograd.grad(loss, states, retain_graph=True)
    mine = omega(model, states, pre, list(grads))
    assert brute.item() > 1e-3 and torch.allclose(mine, brute, rtol=1e-10)
    w = model.layers[0].weight_hh_l0
    (g_mine,) = torch.autograd.grad(mine, w, retain_graph=True)
    (g_brute,) = torch.autograd.grad(brute, w, retain_graph=True)
    assert torch.allclose(g_mine, g_brute, rtol=1e-8, atol=1e-12)
    # the training step's gradient is that of loss + weight * Omega
    model.zero_grad()
    regularized_backward(model, task, x, y, 0.5)
    expected = torch.autograd.grad(loss_brute + 0.5 * brute, w)[0]
    assert torch.allclose(w.grad, expected, rtol=1e-8, atol=1e-12)


def test_the_option_trains_and_is_rejected_where_it_cannot_be_computed():
    spec = TrainSpec(max_steps=3, eval_every=3, profiles=False, vanishing_reg=1.0)
    record = train(ModelSpec(hidden_size=8), TaskSpec(name="adding", seq_len=10), spec)
    assert record.status in ("unsolved", "solved") and record.steps == 3
    with pytest.raises(ValueError, match=r"^vanishing_reg: 1\.0 is not allowed; only with cell"):
        train(ModelSpec(cell="lstm", hidden_size=8), TaskSpec(name="adding", seq_len=10), spec)
