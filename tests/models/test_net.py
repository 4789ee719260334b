"""build_model: fused and loop backends agree exactly; readouts, residuals, init and determinism."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradtrace.errors import InvalidValue
from gradtrace.models import ModelSpec, RecurrentNet, build_model
from gradtrace.models.cells import GRUCell, LSTMCell, RNNCell

B, T = 3, 6


def _run(spec: ModelSpec, backend: str, *, seed: int = 0, train: bool = False):
    """Outputs and parameter gradients (by loop-backend name) of one backend, in float64."""
    torch.manual_seed(seed)
    model = build_model(spec.model_copy(update={"backend": backend})).double().train(train)
    x = torch.randn(B, T, spec.input_size, dtype=torch.float64)
    torch.manual_seed(seed + 1)  # the same dropout masks for both backends
    out = model(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    grads = {name.replace("_l0", ""): p.grad for name, p in model.named_parameters()}
    return out, grads


@pytest.mark.parametrize(
    "fields",
    [
        {"cell": "rnn"},
        {"cell": "rnn", "activation": "relu", "init": "identity"},
        {"cell": "lstm"},
        {"cell": "gru"},
        {"cell": "lstm", "num_layers": 3},
        {"cell": "gru", "num_layers": 2, "residual": True},
        {"cell": "rnn", "num_layers": 2, "residual": True, "readout": "all"},
        {"cell": "lstm", "readout": "attention", "input_size": 3, "output_size": 2},
        {"cell": "gru", "readout": "all", "output_size": 4, "bias": False},
        {"cell": "lstm", "num_layers": 2, "init": "chrono", "init_scale": 20, "forget_bias": 1.0},
    ],
)
def test_fused_and_loop_backends_give_the_same_outputs_and_gradients(fields):
    spec = ModelSpec(hidden_size=7, input_size=fields.pop("input_size", 2), **fields)
    fused_out, fused_grads = _run(spec, "fused")
    loop_out, loop_grads = _run(spec, "loop")
    torch.testing.assert_close(loop_out, fused_out, rtol=1e-10, atol=1e-12)
    assert fused_grads.keys() == loop_grads.keys()
    for name, grad in fused_grads.items():
        torch.testing.assert_close(loop_grads[name], grad, rtol=1e-9, atol=1e-12, msg=name)


def test_backends_agree_with_dropout_in_training_mode():
    spec = ModelSpec(cell="lstm", hidden_size=6, num_layers=3, dropout=0.5, residual=True)
    fused_out, _ = _run(spec, "fused", train=True)
    loop_out, _ = _run(spec, "loop", train=True)
    eval_out, _ = _run(spec, "loop", train=False)
    torch.testing.assert_close(loop_out, fused_out, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(loop_out, eval_out)  # dropout really acted


def test_auto_backend_uses_torch_kernels_when_it_can_and_cells_otherwise():
    assert isinstance(build_model(ModelSpec(cell="lstm")).layers[0], nn.LSTM)
    assert isinstance(build_model(ModelSpec(activation="relu")).layers[0], nn.RNN)
    assert isinstance(build_model(ModelSpec(activation="prelu")).layers[0], RNNCell)
    assert isinstance(build_model(ModelSpec(cell="gru", layer_norm=True)).layers[0], GRUCell)
    assert isinstance(build_model(ModelSpec(cell="lstm", backend="loop")).layers[0], LSTMCell)


@pytest.mark.parametrize(
    ("readout", "shape"), [("last", (B, 2)), ("all", (B, T, 2)), ("attention", (B, 2))]
)
@pytest.mark.parametrize("fields", [{}, {"layer_norm": True, "activation": "leaky_relu"}])
def test_readouts_give_the_documented_shapes(readout, shape, fields):
    model = build_model(ModelSpec(input_size=3, output_size=2, readout=readout, **fields))
    out = model(torch.randn(B, T, 3))
    assert out.shape == shape and torch.isfinite(out).all()


def test_attention_readout_is_a_softmax_weighted_sum_of_top_states():
    model = build_model(ModelSpec(cell="gru", hidden_size=5, readout="attention")).double()
    x = torch.randn(B, T, 1, dtype=torch.float64)
    states = model.layers[0](x)[0]  # (B, T, H)
    linear1, _, linear2 = model.attention
    scores = torch.tanh(states @ linear1.weight.T + linear1.bias) @ linear2.weight.T  # (B, T, 1)
    weights = torch.exp(scores) / torch.exp(scores).sum(dim=1, keepdim=True)
    context = (weights * states).sum(dim=1)
    expected = context @ model.readout.weight.T + model.readout.bias
    torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model.attention_weights(states).sum(1), torch.ones(B).double())


def test_residual_adds_each_upper_layers_input_to_its_output():
    model = build_model(ModelSpec(hidden_size=4, num_layers=3, residual=True, readout="all"))
    x = torch.randn(B, T, 1)
    h0 = model.layers[0](x)[0]
    h1 = model.layers[1](h0)[0] + h0
    h2 = model.layers[2](h1)[0] + h1
    torch.testing.assert_close(model.hidden_states(x)[0], h2)
    torch.testing.assert_close(model(x), model.readout(h2))


def test_the_same_seed_gives_the_same_model_and_another_seed_another():
    spec = ModelSpec(cell="lstm", hidden_size=8, readout="attention", init="orthogonal")
    torch.manual_seed(5)
    first = build_model(spec)
    torch.manual_seed(5)
    second = build_model(spec)
    torch.manual_seed(6)
    third = build_model(spec)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first.layers[0].weight_hh_l0, third.layers[0].weight_hh_l0)


def test_state_dicts_load_across_backends_and_with_backend_keeps_weights_and_rng():
    fused = build_model(ModelSpec(cell="gru", hidden_size=5, num_layers=2)).double()
    x = torch.randn(B, T, 1, dtype=torch.float64)
    before = torch.get_rng_state()
    loop = fused.with_backend("loop")
    assert torch.equal(torch.get_rng_state(), before)
    assert loop.backend == "loop" and next(loop.parameters()).dtype == torch.float64
    torch.testing.assert_close(loop(x), fused(x), rtol=1e-10, atol=1e-12)
    other = RecurrentNet(ModelSpec(cell="gru", hidden_size=5, num_layers=2)).double()
    other.load_state_dict(loop.state_dict())
    torch.testing.assert_close(other(x), fused(x), rtol=1e-10, atol=1e-12)


def test_build_model_applies_init_then_forget_bias():
    model = build_model(ModelSpec(cell="lstm", hidden_size=6, init="chrono", init_scale=50,
                                  forget_bias=2.0))  # fmt: skip
    lstm = model.layers[0]
    assert torch.all(lstm.bias_ih_l0[6:12] == 2.0) and torch.all(lstm.bias_hh_l0[6:12] == 0.0)
    chrono_input = -(lstm.bias_ih_l0[:6] + lstm.bias_hh_l0[:6])
    assert torch.all(chrono_input >= 0) and torch.all(chrono_input <= torch.log(torch.tensor(49.0)))
    rnn = build_model(ModelSpec(hidden_size=6, init="identity", init_scale=0.5)).layers[0]
    assert torch.equal(rnn.weight_hh_l0, 0.5 * torch.eye(6))


def test_build_model_accepts_a_mapping_and_validates_it():
    assert build_model({"cell": "gru", "hidden_size": 4}).spec.cell == "gru"
    with pytest.raises(InvalidValue, match=r"^hidden_size: -4 is not allowed"):
        build_model({"hidden_size": -4})
    with pytest.raises(InvalidValue, match=r"^spec: "):
        build_model("lstm")


def test_a_badly_shaped_input_is_refused_with_the_expected_shape():
    model = build_model(ModelSpec(input_size=3))
    with pytest.raises(InvalidValue, match=r"\(batch, time >= 1, 3\)"):
        model(torch.randn(B, T, 2))
    with pytest.raises(InvalidValue):
        model(torch.randn(B, 3))


@pytest.mark.parametrize("backend", ["fused", "loop"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_running_in_chunks_with_returned_state_equals_one_pass(backend, cell):
    spec = ModelSpec(cell=cell, hidden_size=5, num_layers=2, residual=True, readout="all")
    model = build_model(spec.model_copy(update={"backend": backend})).double()
    x = torch.randn(B, 8, 1, dtype=torch.float64)
    first, state = model(x[:, :3], return_state=True)
    second, final = model(x[:, 3:], state, return_state=True)
    whole, whole_final = model(x, return_state=True)
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    for a, b in zip(final, whole_final, strict=True):
        torch.testing.assert_close(a, b)
    assert isinstance(final[0], tuple) == (cell == "lstm")


def test_return_state_is_refused_for_the_attention_readout_and_state_must_fit_the_layers():
    model = build_model(ModelSpec(readout="attention"))
    with pytest.raises(InvalidValue, match=r"^readout: 'attention' is not allowed"):
        model(torch.randn(B, T, 1), return_state=True)
    with pytest.raises(InvalidValue, match=r"^state: "):
        build_model(ModelSpec(num_layers=2))(torch.randn(B, T, 1), [None])
