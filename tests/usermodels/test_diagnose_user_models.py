"""diagnose on each user model's own batch format; every part measured or said why not."""

from __future__ import annotations

import torch.nn.functional as F

import gradtrace
from gradtrace.flow import VERDICTS


def test_diagnose_takes_the_models_own_batch_and_covers_every_layer(entry):
    model = entry.build()
    batch = entry.batch()
    found = gradtrace.diagnose(model, entry.model_batch(model, batch), cells=entry.cells)
    assert found.verdict in VERDICTS
    if entry.name == "mingru_scan":  # a scan marks its input b_t, not a state to read
        assert found.loss_used.startswith("default: the model's output")
    else:
        assert found.loss_used.startswith("default: the final")
        assert found.verdict_basis.startswith("the gradient of one late loss term")
    named = {d.name for d in found.lyapunov} | {
        part.split(": ", 1)[1] for part in found.not_computed if part.startswith("lyapunov")
    }
    assert set(found.profile.names) <= named  # every layer: exponents, or why there are none
    assert all(why for why in found.not_computed.values())
    # the curse of memory: measured, or said why not, for every recurrent module
    sensed = {s.name for s in found.sensitivity} | {
        part.split(": ", 1)[1] for part in found.not_computed if part.startswith("sensitivity")
    }
    assert all(any(n == s or n.startswith(s + ".") for s in sensed) for n in found.profile.names)


def test_the_curse_of_memory_names_what_it_cannot_measure_and_measures_what_is_declared():
    from gradtrace_tests_zoo import IndRNNEntry, Seq2SeqEntry

    entry = Seq2SeqEntry()
    model, batch = entry.build(), entry.batch()
    found = gradtrace.diagnose(model, entry.model_batch(model, batch), cells=entry.cells)
    assert {s.name for s in found.sensitivity} >= {"encoder.gru.l0", "encoder.gru.l0.reverse"}
    assert "times in one forward" in found.not_computed["sensitivity: decoder.gru"]

    entry = IndRNNEntry()
    model, batch = entry.build(), entry.batch()
    found = gradtrace.diagnose(model, batch[0], cells=entry.cells)
    assert "recurrent_cell(recurrent=" in found.not_computed["sensitivity: cell"]
    declared = gradtrace.CellDeclaration(recurrent=("u",), inputs=("weight_ih",))
    found = gradtrace.diagnose(model, batch[0], cells={"cell": declared})
    (layer,) = found.sensitivity
    assert layer.name == "cell" and layer.parameter_paths() == ["cell.u"]
    assert layer.ratio > 0 and "sensitivity: cell" not in found.not_computed


def test_a_per_step_language_model_loss_gets_a_signal_profile_for_the_verdict():
    from gradtrace_tests_zoo import VOCAB, WordLMEntry

    entry = WordLMEntry()
    model, batch = entry.build(), entry.batch()
    _tokens, targets = batch

    def loss_fn(output, given):
        logits, _ = output
        return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))

    found = gradtrace.diagnose(model, entry.model_batch(model, batch), loss_fn=loss_fn)
    assert found.signal_profile is not None
    assert found.signal_profile.names == found.profile.names
    assert "late loss term" in found.verdict_basis and found.loss_used.startswith("the loss_fn")
    late = found.signal_profile.layer("rnn.l1")
    assert late.g[-1] > 0 and late.relative[-1] < found.profile.layer("rnn.l1").relative[-1]


def test_a_declared_cell_without_a_kind_gets_lyapunov_exponents_by_autograd():
    from gradtrace_tests_zoo import IndRNNEntry

    entry = IndRNNEntry()
    model, batch = entry.build(), entry.batch()
    found = gradtrace.diagnose(model, batch[0], cells=entry.cells)
    (dynamics,) = found.lyapunov
    assert dynamics.method == "autograd" and dynamics.state_size == 6
    assert "health: cell" in found.not_computed
