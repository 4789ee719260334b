"""The trace context manager: restores the model, rejects what it cannot follow, stores O(T*B)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.errors import InvalidValue, UnsupportedModel


class Tagger(nn.Module):
    """A model written without gradtrace in mind: embedding -> 2-layer LSTM -> linear."""

    def __init__(self, vocab=20, dim=6, hidden=7, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out)


def _snapshot(model):
    hooks = [
        (name, dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
        for name, m in model.named_modules()
    ]
    instance = [(name, "forward" in m.__dict__) for name, m in model.named_modules()]
    flags = [(name, m.training) for name, m in model.named_modules()]
    return copy.deepcopy(model.state_dict()), hooks, instance, flags


def test_a_tagger_written_without_gradtrace_is_traced_exactly(ref):
    model = Tagger().double()
    tokens = torch.randint(0, 20, (4, 9))
    targets = torch.randint(0, 3, (4, 9))
    with gradtrace.trace(model) as tr:
        logits = model(tokens)
        nn.functional.cross_entropy(logits.reshape(-1, 3), targets.reshape(-1)).backward()
    assert tr.profile.names == ["rnn.l0", "rnn.l1"]
    # reference: the same network in plain float64 ops with every state retained
    layer_in = model.embed(tokens).detach()  # (B, T, D)
    states = {}
    for layer in range(2):
        w, hs, cs = ref.weights(model.rnn, layer, 0), [], []
        h = c = torch.zeros(4, 7, dtype=torch.float64)
        for t in range(9):
            gates = layer_in[:, t] @ w["weight_ih"].t() + w["bias_ih"] + h @ w["weight_hh"].t()
            i, f, g, o = (gates + w["bias_hh"]).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            h.retain_grad()
            c.retain_grad()
            hs.append([h])
            cs.append([c])
        states[(layer, 0)] = (hs, cs)
        layer_in = torch.stack([row[0] for row in hs], dim=1)
    logits = model.head(layer_in)
    nn.functional.cross_entropy(logits.reshape(-1, 3), targets.reshape(-1)).backward()
    for layer in range(2):
        traced = tr.profile.layer(f"rnn.l{layer}")
        # the reference keeps whole-batch states: per-example norms are rows of its gradient
        hs = states[(layer, 0)][0]
        expected = torch.stack([torch.linalg.vector_norm(r[0].grad, dim=-1).mean() for r in hs])
        assert abs(traced.g - expected.numpy()).max() <= 1e-10 * expected.max().item()
        cs = states[(layer, 0)][1]
        expected_c = torch.stack([torch.linalg.vector_norm(r[0].grad, dim=-1).mean() for r in cs])
        assert abs(traced.g_cell - expected_c.numpy()).max() <= 1e-10 * expected_c.max().item()


def test_the_model_is_restored_untouched_after_an_exception():
    model = Tagger()
    cell = nn.GRUCell(3, 3)
    model.add_module("extra", cell)
    before = _snapshot(model)
    with pytest.raises(ZeroDivisionError), gradtrace.trace(model):
        model(torch.randint(0, 20, (2, 5))).sum().backward()
        assert "forward" in model.rnn.__dict__ and cell._forward_hooks
        raise ZeroDivisionError
    after = _snapshot(model)
    assert after[1:] == before[1:]
    assert all(torch.equal(after[0][k], before[0][k]) for k in before[0])
    assert type(model.rnn).forward is nn.LSTM.forward and "forward" not in model.rnn.__dict__


def test_a_cell_keeps_its_own_forward_and_only_gets_a_hook_that_goes_on_exit():
    cell = nn.RNNCell(2, 2)
    replaced = cell.forward  # a bound method stored on the instance, e.g. by a patching library
    cell.forward = replaced
    with gradtrace.trace(cell):
        assert cell.forward is replaced and len(cell._forward_hooks) == 1
    assert cell.__dict__["forward"] is replaced and not cell._forward_hooks


def test_a_model_without_recurrent_layers_or_marks_is_unsupported_with_the_ways_in():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with gradtrace.trace(model) as tr:
        model(torch.randn(2, 3)).sum().backward()
    with pytest.raises(UnsupportedModel, match=r"no recurrent step .* gradtrace.mark"):
        _ = tr.profile


def test_a_subclass_that_overrides_forward_is_named_as_unsupported():
    class Peephole(nn.LSTM):
        def forward(self, input, hx=None):
            return super().forward(input, hx)

    model = nn.Sequential()
    model.add_module("enc", Peephole(3, 4))
    with pytest.raises(UnsupportedModel, match=r"enc \(Peephole\).*overrides forward"):
        gradtrace.trace(model)


def test_a_custom_recurrent_module_is_named_in_the_error():
    class MyGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight_hh = nn.Parameter(torch.zeros(3, 3))

    with gradtrace.trace(MyGRU()) as tr:
        pass
    with pytest.raises(UnsupportedModel, match=r"look recurrent.*\(MyGRU\).*cells="):
        _ = tr.profile


def test_tracing_a_model_twice_at_once_is_refused():
    model = nn.GRU(2, 3)
    with gradtrace.trace(model), pytest.raises(UnsupportedModel, match="already being traced"):
        gradtrace.trace(model)


def test_bad_arguments_name_the_argument():
    with pytest.raises(InvalidValue, match="model"):
        gradtrace.trace("lstm")
    with pytest.raises(InvalidValue, match="cell_state"):
        gradtrace.trace(nn.LSTM(2, 2), cell_state="yes")


def test_the_profile_describes_the_latest_backward_pass():
    model = nn.RNN(2, 3)
    with gradtrace.trace(model) as tr:
        model(torch.randn(4, 1, 2))[0].sum().backward()
        first = tr.profile
        model(torch.randn(9, 1, 2))[0].sum().backward()
        model(torch.randn(6, 1, 2))  # a forward whose backward has not run yet
        latest = tr.profile
    assert first.layers[0].seq_len == 4
    assert latest.layers[0].seq_len == 9


def test_a_module_called_twice_in_one_pass_yields_numbered_calls():
    model = nn.GRU(2, 3)
    with gradtrace.trace(model, cell_state=False) as tr:
        a, _ = model(torch.randn(4, 2, 2))
        b, _ = model(torch.randn(6, 2, 2))
        (a.sum() + b.sum()).backward()
    assert tr.profile.names == ["gru.l0", "gru.l0#2"]
    assert [layer.seq_len for layer in tr.profile.layers] == [4, 6]


def test_cell_state_false_records_no_cell_gradients():
    model = nn.LSTM(2, 3)
    with gradtrace.trace(model, cell_state=False) as tr:
        model(torch.randn(5, 2, 2))[0].sum().backward()
    assert tr.profile.layers[0].g_cell is None


@pytest.mark.parametrize("steps", [10, 40])
def test_what_the_tracer_stores_is_one_number_per_step_and_example(steps):
    batch, layers, dirs = 3, 2, 2
    model = nn.LSTM(4, 16, num_layers=layers, bidirectional=True)
    with gradtrace.trace(model) as tr:
        model(torch.randn(steps, batch, 4))[0].sum().backward()
        stored = tr.stored_bytes
    # h and c norms: 2 float32 per (step, example, layer, direction); nothing of size H
    assert stored == 2 * 4 * steps * batch * layers * dirs


def test_reading_the_profile_before_backward_says_what_to_do():
    with gradtrace.trace(nn.LSTM(2, 2)) as tr, pytest.raises(RuntimeError, match="backward"):
        _ = tr.profile


def test_calls_that_no_backward_reached_are_left_out():
    spec = gradtrace.ModelSpec(cell="gru", input_size=2, hidden_size=3, backend="loop")
    loop = gradtrace.build_model(spec)
    fused = nn.Sequential()
    fused.add_module("rnn", nn.GRU(2, 3))
    for model, name in ((loop, "layers.0"), (fused, "rnn.l0")):
        with gradtrace.trace(model) as tr:
            model(torch.randn(1, 4, 2) if model is loop else torch.randn(4, 1, 2))  # validation
            out = model(torch.randn(1, 6, 2) if model is loop else torch.randn(6, 1, 2))
            (out if model is loop else out[0]).sum().backward()
        assert tr.profile.names == [name]
        assert tr.profile.layer(name).seq_len == 6
