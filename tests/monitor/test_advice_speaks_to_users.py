"""Advice a user can paste: calls on their own modules, and what their loop already does."""

from __future__ import annotations

import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis.advice import Recommendation
from gradtrace.diagnosis.speak import AdviceContext, attention_paths, for_user, module_expr


class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(2, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        return self.head(self.encoder(x)[0])


def test_module_expressions_name_the_users_attribute_paths():
    paths = frozenset({"", "encoder", "layers", "layers.1"})
    assert module_expr("encoder.l0.reverse", paths) == "model.encoder"
    assert module_expr("layers.1", paths) == "model.layers[1]"
    assert module_expr("lstm.l0", paths) == "model"  # the model is itself the LSTM


def test_a_users_lstm_that_forgets_hears_a_call_on_its_own_module():
    torch.manual_seed(0)
    model = Tagger().double()
    gradtrace.init.forget_bias_(model, -4.0)
    found = gradtrace.diagnose(model, torch.randn(4, 80, 2, dtype=torch.float64))
    (advice,) = [r.advice for r in found.recommendations if r.code == "forget-bias"]
    assert "gradtrace.init.forget_bias_(model.encoder, 1.0)" in advice
    assert "chrono_(model.encoder, t_max=80)" in advice and "init='chrono'" not in advice


def test_gradtraces_own_models_keep_their_spec_fields():
    model = gradtrace.build_model(gradtrace.ModelSpec(cell="lstm", hidden_size=16, forget_bias=-4))
    found = gradtrace.diagnose(model, torch.randn(4, 80, 1))
    (advice,) = [r.advice for r in found.recommendations if r.code == "forget-bias"]
    assert "forget_bias=1.0" in advice


class AttentiveTagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.LSTM(2, 16, batch_first=True)
        self.pool = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out = self.encoder(x)[0]
        return self.head(self.pool(out[:, -1:], out, out)[0][:, 0])


def test_a_model_with_attention_over_its_outputs_is_not_told_to_add_attention():
    torch.manual_seed(0)
    model = AttentiveTagger()
    assert attention_paths(model) == ("pool",)
    found = gradtrace.diagnose(model, torch.randn(4, 60, 2), loss_fn=lambda o, b: o.sum())
    (advice,) = [r.advice for r in found.recommendations if r.code == "attention-readout"]
    assert "already gives distant steps a short path" in advice and "(model.pool)" in advice
    assert "model.encoder's own memory" in advice and "MultiheadAttention) instead" not in advice
    plain = gradtrace.diagnose(Tagger(), torch.randn(4, 60, 2), loss_fn=lambda o, b: o.sum())
    (advice,) = [r.advice for r in plain.recommendations if r.code == "attention-readout"]
    assert "attention over all outputs of model.encoder" in advice


def test_a_loop_that_clips_hears_its_clip_rate_not_to_clip():
    rec = Recommendation("clip-gradients", "the gradient grows 5e+03x (encoder.l0)", 5e3, "clip")
    clipping = AdviceContext(layers=("encoder.l0",), clip_rate=1.0, clipped_to=0.25)
    text = for_user(rec, clipping).advice
    assert "already clips at about 0.25 (clip rate 100%)" in text and "clip_grad_norm_" not in text
    fresh = for_user(rec, AdviceContext(layers=("encoder.l0",), typical_norm=3.2)).advice
    assert "clip_grad_norm_(model.parameters(), max_norm=3.2)" in fresh


def test_the_monitor_tells_a_loop_that_clips_its_clip_rate(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    monitor = gradtrace.Monitor(tiny_lm, opt, profile_every=0, flush_every=1)
    for i in range(30):
        opt.zero_grad()
        lm.loss(tiny_lm, seed=i).backward()
        torch.nn.utils.clip_grad_norm_(tiny_lm.parameters(), 0.01)
        opt.step()
    loop = monitor.reporter.rules.loop_clip
    monitor.close()
    assert loop is not None and loop[0] == 1.0 and abs(loop[1] - 0.01) < 1e-4
