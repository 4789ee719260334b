"""trace on the code people write: every layer's g_t equals an independent unrolling."""

from __future__ import annotations

import torch

import gradtrace


def test_every_traced_layer_equals_the_independent_unrolling(entry):
    model = entry.build().eval()  # no dropout: the reference unrolls the same function
    batch = entry.batch()
    with gradtrace.trace(model, cells=entry.cells) as tr:
        entry.loss(entry.run(model, batch), batch).backward()
    expected = entry.reference(model, batch)
    profile = tr.profile
    for name, g in expected.items():
        layer_name, _, which = name.partition("/")
        layer = profile.layer(layer_name)
        got = layer.g_cell if which == "c" else layer.g
        assert got is not None and got.shape == tuple(g.shape), name
        scale = float(g.abs().max())
        assert abs(torch.as_tensor(got) - g).max() <= 1e-10 * scale, name
    assert {n.partition("/")[0] for n in expected} == set(profile.names)


def test_a_decoder_called_once_per_step_is_one_layer_over_the_decode_steps():
    from gradtrace_tests_zoo import Seq2SeqEntry

    entry = Seq2SeqEntry()
    model, batch = entry.build(), entry.batch()
    with gradtrace.trace(model) as tr:
        entry.loss(entry.run(model, batch), batch).backward()
    assert tr.profile.layer("decoder.gru.l0").seq_len == batch["tgt"].shape[0] - 1
    assert not [n for n in tr.profile.names if "#" in n]
