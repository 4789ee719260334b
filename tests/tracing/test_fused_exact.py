"""trace on torch's fused nn.RNN / nn.LSTM / nn.GRU records g_t exactly (vs a float64 reference)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import gradtrace

T, B, IN, H = 7, 3, 4, 5
LENGTHS = [5, 7, 2]

MODULES = {
    "rnn": lambda **kw: nn.RNN(IN, H, **kw),
    "rnn_relu": lambda **kw: nn.RNN(IN, H, nonlinearity="relu", **kw),
    "lstm": lambda **kw: nn.LSTM(IN, H, **kw),
    "gru": lambda **kw: nn.GRU(IN, H, **kw),
}
KIND = {"rnn": "rnn", "rnn_relu": "rnn", "lstm": "lstm", "gru": "gru"}

CASES = [
    dict(),
    dict(num_layers=2, bidirectional=True),
    dict(batch_first=True),
    dict(initial_state=True, num_layers=2),
    dict(packed=True, bidirectional=True),
    dict(packed=True, initial_state=True, num_layers=2),
    dict(bias=False, bidirectional=True),
]


def _traced_and_reference(ref, name: str, case: dict):
    case = dict(case)
    packed = case.pop("packed", False)
    initial = case.pop("initial_state", False)
    batch_first = case.get("batch_first", False)
    kind = KIND[name]
    module = MODULES[name](**case).double()
    x = torch.randn(T, B, IN, dtype=torch.float64)  # time-major; transposed for batch_first
    dirs = 2 if module.bidirectional else 1
    width = (module.proj_size or H) if kind == "lstm" else H
    h0 = torch.randn(module.num_layers * dirs, B, width, dtype=torch.float64) if initial else None
    c0 = None
    if initial and kind == "lstm":
        c0 = torch.randn(module.num_layers * dirs, B, H, dtype=torch.float64)
    inputs = x.transpose(0, 1) if batch_first else x
    if packed:
        inputs = pack_padded_sequence(
            inputs, torch.tensor(LENGTHS), batch_first=batch_first, enforce_sorted=False
        )
    hx = None if h0 is None else ((h0, c0) if kind == "lstm" else h0)
    with gradtrace.trace(module) as tr:
        out, hidden = module(inputs, hx)
        h_n, c_n = hidden if kind == "lstm" else (hidden, None)
        out = ref.padded(out)
        out = out.transpose(0, 1) if batch_first and not packed else out
        ref.loss_of(out, h_n, c_n).backward()
    ref_out, ref_h, ref_c, states = ref.run_fused(
        module, kind, x, h0, c0, lengths=LENGTHS if packed else None
    )
    ref.loss_of(ref_out, ref_h, ref_c).backward()
    torch.testing.assert_close(out, ref_out, rtol=1e-12, atol=1e-12)
    return tr.profile, states, module


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(c) or "plain")
@pytest.mark.parametrize("name", list(MODULES))
def test_every_step_norm_equals_brute_force_autograd(ref, name, case):
    profile, states, module = _traced_and_reference(ref, name, case)
    dirs = 2 if module.bidirectional else 1
    assert len(profile.layers) == module.num_layers * dirs
    for layer in range(module.num_layers):
        for direction in range(dirs):
            entry = profile.layer(
                f"{'lstm' if KIND[name] == 'lstm' else KIND[name]}.l{layer}"
                + (".reverse" if direction else "")
            )
            expected = ref.step_norms(states, (layer, direction)).numpy()
            assert entry.g.shape == (T,)
            assert abs(entry.g - expected).max() <= 1e-10 * abs(expected).max()
            if KIND[name] == "lstm":
                expected_c = ref.step_norms(states, (layer, direction), cell=True).numpy()
                assert abs(entry.g_cell - expected_c).max() <= 1e-10 * abs(expected_c).max()
            else:
                assert entry.g_cell is None


@pytest.mark.parametrize(
    "case",
    [dict(), dict(packed=True, bidirectional=True, num_layers=2)],
    ids=["plain", "packed-bidirectional"],
)
def test_lstm_projection_traces_the_projected_state(ref, case):
    case = {**case, "proj_size": 3}
    MODULES["lstm_proj"] = MODULES["lstm"]
    KIND["lstm_proj"] = "lstm"
    profile, states, module = _traced_and_reference(ref, "lstm_proj", case)
    for layer in range(module.num_layers):
        entry = profile.layer(f"lstm.l{layer}")
        expected = ref.step_norms(states, (layer, 0)).numpy()
        assert abs(entry.g - expected).max() <= 1e-10 * abs(expected).max()
        expected_c = ref.step_norms(states, (layer, 0), cell=True).numpy()
        assert abs(entry.g_cell - expected_c).max() <= 1e-10 * abs(expected_c).max()


def test_packed_steps_average_only_over_the_examples_they_cover(ref):
    profile, states, _ = _traced_and_reference(ref, "gru", dict(packed=True))
    g = profile.layer("gru.l0").g
    # at t = 6 only the example of length 7 is present: its norm alone, not a third of it
    alone = torch.linalg.vector_norm(states[(0, 0)][0][6][1].grad).item()
    assert g[6] == pytest.approx(alone, rel=1e-12)


def test_unbatched_input_and_state_are_traced_as_a_batch_of_one(ref):
    module = nn.LSTM(IN, H, num_layers=2).double()
    x = torch.randn(T, IN, dtype=torch.float64)
    h0, c0 = torch.randn(2, H, dtype=torch.float64), torch.randn(2, H, dtype=torch.float64)
    with gradtrace.trace(module) as tr:
        out, (h_n, c_n) = module(x, (h0, c0))
        ref.loss_of(out, h_n, c_n).backward()
    ref_out, ref_h, ref_c, states = ref.run_fused(
        module, "lstm", x.unsqueeze(1), h0.unsqueeze(1), c0.unsqueeze(1)
    )
    ref.loss_of(ref_out.squeeze(1), ref_h.squeeze(1), ref_c.squeeze(1)).backward()
    torch.testing.assert_close(out, ref_out.squeeze(1), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_n, ref_h.squeeze(1), rtol=1e-12, atol=1e-12)
    for layer in range(2):
        expected = ref.step_norms(states, (layer, 0)).numpy()
        got = tr.profile.layer(f"lstm.l{layer}").g
        assert abs(got - expected).max() <= 1e-10 * abs(expected).max()


@pytest.mark.parametrize("name", list(MODULES))
@pytest.mark.parametrize(
    "case", [dict(), dict(bidirectional=True, initial_state=True)], ids=["plain", "bidirectional"]
)
def test_steps_split_into_chunks_and_norm_rings_give_the_same_norms(ref, name, case, monkeypatch):
    # tiny sizes fit one chunk; force chunks of 3 steps (LSTM forward) and rings of 2 steps
    from gradtrace.tracing import plan
    from gradtrace.tracing.kernels import common, lstm

    monkeypatch.setattr(plan, "RING_NUMBERS", 2 * B * 2 * H)
    monkeypatch.setattr(lstm, "chunk_steps", lambda p, w: common.chunk_steps(p, w, 3 * B * w))
    profile, states, module = _traced_and_reference(ref, name, case)
    for direction in range(2 if module.bidirectional else 1):
        entry = profile.layers[direction]
        expected = ref.step_norms(states, (0, direction)).numpy()
        assert abs(entry.g - expected).max() <= 1e-10 * abs(expected).max()
        if KIND[name] == "lstm":
            expected_c = ref.step_norms(states, (0, direction), cell=True).numpy()
            assert abs(entry.g_cell - expected_c).max() <= 1e-10 * abs(expected_c).max()
