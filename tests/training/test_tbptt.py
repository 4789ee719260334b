"""Truncated BPTT: chunked forward equals the model, gradients stop at the window, and match a
step loop that detaches the state at chunk boundaries."""

from __future__ import annotations

import pytest
import torch

from gradtrace.models import ModelSpec, build_model
from gradtrace.tasks import TaskSpec, make_task
from gradtrace.training.stateful import forward_chunk
from gradtrace.training.tbptt import detach_state, forward_backward

CELLS = ["rnn", "lstm", "gru"]


def _model(cell: str, backend: str = "auto", **fields):
    spec = ModelSpec(cell=cell, hidden_size=8, backend=backend, input_size=3, **fields)
    return build_model(spec)


@pytest.mark.parametrize("backend", ["fused", "loop"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_chunk_from_no_state_is_the_models_own_forward(cell, backend):
    for readout in ("last", "all"):
        model = _model(cell, backend, num_layers=2, residual=True, readout=readout)
        x = torch.randn(4, 9, 3)
        out, _ = forward_chunk(model, x, None)
        torch.testing.assert_close(out, model(x), rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["fused", "loop"])
@pytest.mark.parametrize("cell", CELLS)
def test_chunks_carrying_the_state_reproduce_the_whole_sequence(cell, backend):
    model = _model(cell, backend, num_layers=2, readout="all")
    x = torch.randn(3, 12, 3)
    state, outs = None, []
    for start in range(0, 12, 5):
        out, state = forward_chunk(model, x[:, start : start + 5], state)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, dim=1), model(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_gradients_never_reach_inputs_before_the_last_window(cell):
    task = make_task(TaskSpec(name="adding", seq_len=24))
    model = build_model(ModelSpec(cell=cell, hidden_size=8, input_size=2))
    x, y = task.sample(4, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    forward_backward(model, task, x, y, tbptt=6)
    assert (x.grad[:, :18] == 0).all()
    assert (x.grad[:, 18:].abs().sum(-1) > 0).all()
    x.grad = None
    forward_backward(model, task, x, y, tbptt=None)  # full BPTT reaches the first step
    assert (x.grad[:, 0].abs().sum(-1) > 0).all()


def _reference_grads(model, task, x, y, k):
    """Brute force: one graph over a step loop of the loop-backend cell, state detached every k."""
    loop = model.with_backend("loop")
    cell = loop.layers[0]
    state, hs = None, []
    for t in range(x.shape[1]):
        if t % k == 0:
            state = detach_state(state)
        state = cell(x[:, t], state)
        hs.append(state[0] if isinstance(state, tuple) else state)
    states = torch.stack(hs, dim=1)  # (B, T, H)
    out = loop.readout(states) if task.readout == "all" else loop.readout(states[:, -1])
    task.loss(out, y).backward()
    return {name.replace("_l0", ""): p.grad for name, p in loop.named_parameters()}


@pytest.mark.parametrize(("task_name", "seq_len", "k"), [("copy", 23, 5), ("adding", 20, 7)])
@pytest.mark.parametrize("cell", CELLS)
def test_accumulated_chunk_gradients_equal_a_detached_step_loop(task_name, seq_len, k, cell):
    task = make_task(
        TaskSpec(name=task_name, seq_len=seq_len, **({"recall": 3} if task_name == "copy" else {}))
    )
    model = build_model(
        ModelSpec(cell=cell, hidden_size=8, input_size=task.input_size,
                  output_size=task.output_size, readout=task.readout)
    )  # fmt: skip
    x, y = task.sample(5, generator=torch.Generator().manual_seed(1))
    loss = forward_backward(model, task, x, y, tbptt=k)
    expected = _reference_grads(model, task, x, y, k)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name.replace("_l0", "")], rtol=1e-4, atol=1e-6)
    if task.readout == "all":  # the chunk shares add up to the full-sequence loss
        assert loss.item() == pytest.approx(task.loss(model(x), y).item(), rel=1e-5)
