"""Measured claims at a tiny budget: each verdict follows from the numbers in its evidence."""

from __future__ import annotations

import numpy as np
import pytest

from gradtrace.audit.behaviour import recent_share
from gradtrace.audit.budget import TINY
from gradtrace.audit.context import Context
from gradtrace.audit.measure import reach
from gradtrace.audit.registry import CLAIMS

T = TINY.trace_len


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(TINY)


def check(claim_id: str, ctx: Context):
    finding = CLAIMS[claim_id].check(ctx)
    assert "\n" not in finding.summary
    return finding


def test_naive_normal_weights_explode_relu_states_and_saturate_tanh(ctx):
    finding = check("naive-normal-init", ctx)
    ev = finding.evidence
    assert ev["relu_normal"]["norm_growth_per_step"] > 1.5
    assert ev["tanh_normal"]["saturated_fraction"] > 0.5 > ev["tanh_default"]["saturated_fraction"]
    assert finding.verdict == "nuanced"


def test_xavier_keeps_variance_and_the_verdict_counts_the_draws(ctx):
    finding = check("xavier-he-keep-variance", ctx)
    models = finding.evidence["models"]
    assert models["xavier_tanh"]["draws_kept_within_10x"] == 3
    assert max(models["normal_relu"]["variance_ratio_last_over_step_10"]) > 1e6
    he_kept = models["he_relu"]["draws_kept_within_10x"] == 3
    assert finding.verdict == ("confirmed" if he_kept else "nuanced")


def test_init_decay_verdict_matches_the_traced_horizons(ctx):
    finding = check("init-does-not-stop-decay", ctx)
    vanishing = [f["verdict"] == "vanishing" for f in finding.evidence["flows"].values()]
    expected = "confirmed" if all(vanishing) else "nuanced" if any(vanishing) else "not tested"
    assert finding.verdict.startswith(expected)


def test_orthogonal_and_identity_weights_reach_further_back(ctx):
    finding = check("orthogonal-identity-init-help", ctx)
    flows = finding.evidence["flows"]
    assert reach(flows["tanh orthogonal"]["horizon"], T) > reach(
        flows["tanh default"]["horizon"], T
    )
    assert flows["relu identity"]["horizon"] is None
    assert finding.verdict == "confirmed"


def test_relu_slope_one_does_not_stop_default_weights_from_vanishing(ctx):
    finding = check("relu-slope-keeps-gradients", ctx)
    flows = finding.evidence["flows"]
    assert flows["relu default"]["verdict"] == "vanishing"
    assert flows["relu identity (IRNN)"]["verdict"] != "vanishing"
    assert finding.verdict == "nuanced"


def test_dead_relu_units_get_exactly_zero_gradient_and_leaky_ones_do_not(ctx):
    finding = check("dying-relu", ctx)
    models = finding.evidence["models"]
    assert (
        models["relu"]["dead_units"] >= finding.evidence["biased_units"] == TINY.trace_hidden // 2
    )
    assert models["relu"]["gradient_norm"]["dead_rows"] == 0.0
    assert models["leaky_relu"]["gradient_norm"]["dead_rows"] > 0.0
    assert finding.verdict == "confirmed"


def test_lstm_cell_path_needs_an_open_forget_gate(ctx):
    finding = check("lstm-cell-state-path", ctx)
    paths = list(finding.evidence["lstm"].values())
    assert paths[0]["cell_horizon"] is not None  # torch's default init: the cell path decays
    assert paths[2]["cell_horizon"] is None  # forget bias 5: it reaches the first step
    assert finding.verdict == "nuanced"


def test_residual_connections_carry_more_gradient_to_the_bottom_layer(ctx):
    finding = check("skip-connections-help", ctx)
    plain, residual = finding.evidence["models"]["plain"], finding.evidence["models"]["residual"]
    assert residual["bottom_over_top_at_last_step"] > plain["bottom_over_top_at_last_step"]
    assert finding.verdict in ("confirmed", "nuanced")


def test_layer_norm_verdict_follows_its_horizons(ctx):
    finding = check("layer-norm-helps", ctx)
    plain, normed = finding.evidence["models"]["plain"], finding.evidence["models"]["layer norm"]
    longer = reach(normed["horizon"], T) > reach(plain["horizon"], T)
    assert (finding.verdict != "refuted") == longer


def test_attention_readout_reaches_the_first_step(ctx):
    finding = check("attention-shortcut", ctx)
    assert finding.evidence["last_step_readout"]["horizon"] is not None
    assert finding.evidence["attention_readout"]["horizon"] is None
    assert finding.verdict == "confirmed"


def test_gated_cells_have_four_and_three_blocks(ctx):
    finding = check("gated-cell-structure", ctx)
    cells = finding.evidence["cells"]
    assert (cells["lstm"]["weight_hh_rows_over_H"], cells["gru"]["weight_hh_rows_over_H"]) == (4, 3)
    assert finding.verdict == "confirmed"


def test_parameter_counts_follow_the_gate_counts(ctx):
    finding = check("rnn-lstm-gru-cost", ctx)
    i = 1
    for hidden, row in finding.evidence["by_hidden_size"].items():
        h = int(hidden)
        rnn = h * (i + h) + 2 * h
        assert row["recurrent_parameters"] == {"rnn": rnn, "gru": 3 * rnn, "lstm": 4 * rnn}
        assert all(s > 0 for s in row["seconds_per_step"].values())
        assert row["time_relative_to_lstm"]["lstm"] == 1.0
    assert finding.verdict in ("confirmed", "nuanced")


def test_truncated_bptt_gives_exactly_zero_gradient_before_its_window(ctx):
    finding = check("truncated-bptt-tradeoff", ctx)
    grads = finding.evidence["input_gradients"]
    assert grads["truncated"]["max_grad_before_window"] == 0.0
    assert grads["full"]["max_grad_before_window"] > 0.0
    assert grads["truncated"]["mean_grad_in_window"] > 0.0
    assert finding.verdict != "refuted"


def test_recent_share_of_known_weights():
    assert recent_share(np.ones(50)) == pytest.approx(0.1)
    assert recent_share(0.5 ** np.arange(40)[::-1]) == pytest.approx(1 - 0.5**4, rel=1e-9)


def test_vanishing_model_puts_its_weight_on_recent_inputs(ctx):
    finding = check("recency-bias", ctx)
    models = finding.evidence["models"]
    assert models["tanh RNN"]["share_in_last_10pct"] > 0.5
    assert models["LSTM, forget bias 5"]["share_in_last_10pct"] < 0.5
    assert finding.verdict == "confirmed"


def test_contracting_rnn_forgets_a_different_prefix(ctx):
    finding = check("contractive-forgetting", ctx)
    distances = list(finding.evidence["distance_at_step"].values())
    assert distances[-1] < 1e-6 * distances[0]
    assert finding.verdict == "confirmed"


def test_vanishing_models_are_insensitive_to_early_inputs_so_instability_is_refuted(ctx):
    finding = check("vanishing-makes-models-unstable", ctx)
    vanishing = finding.evidence["models"]["vanishing (default init)"]
    exploding = finding.evidence["models"]["exploding (N(0,1) init)"]
    assert vanishing["first_input"] < 1e-6 * vanishing["last_input"]
    assert exploding["first_input"] > 1e3 * vanishing["first_input"]
    assert finding.verdict == "refuted"


def test_total_norm_hardly_changes_while_the_horizon_collapses(ctx):
    finding = check("small-total-norm-signals-vanishing", ctx)
    ev = finding.evidence
    assert ev["sum_over_global"] >= 1.0  # a sum of norms bounds the global L2 norm from above
    assert 0.5 <= ev["long_over_short_total_norm"] <= 2.0
    assert finding.verdict == "nuanced"


def test_untestable_claims_say_why(ctx):
    for spec in CLAIMS.values():
        if spec.theme == "untestable":
            finding = spec.check(ctx)
            assert finding.verdict == "untestable here" and finding.evidence["reason"]


def test_probe_flow_matches_a_hand_written_recurrence_differentiated_by_autograd():
    import torch

    from gradtrace import flow
    from gradtrace.audit.measure import build, noise, probe_flow

    hidden, steps, batch = 8, 12, 3
    measured = probe_flow({}, hidden=hidden, seq_len=steps, batch=batch, seed=4)
    model = build({}, hidden=hidden, seed=4)
    x = noise(batch, steps, seed=4)
    rnn = model.layers[0]
    h = torch.zeros(batch, hidden, dtype=torch.float64)
    states = []
    for t in range(steps):
        h = torch.tanh(
            x[:, t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
        )
        h.retain_grad()
        states.append(h)
    (model.readout(h).sum() / batch).backward()
    g = np.array([float(s.grad.norm(dim=-1).mean()) for s in states])
    relative = flow.relative_profile(g)
    for lag, r in measured["r_by_lag"].items():
        assert r == pytest.approx(relative[int(lag)], rel=1e-10)
    assert measured["horizon"] == flow.horizon(relative)


def test_an_exploding_float32_gradient_overflows_and_clipping_cannot_repair_it():
    import dataclasses
    import math

    budget = dataclasses.replace(TINY, trace_len=200, trace_hidden=64)
    finding = CLAIMS["exploding-gradients-overflow"].check(Context(budget))
    ev = finding.evidence
    assert ev["non_finite_gradient_entries"] > 0
    assert ev["non_finite_entries_after_norm_clipping"] >= ev["non_finite_gradient_entries"]
    assert not math.isfinite(float(ev["loss_after_one_sgd_step"]))
    assert finding.verdict == "confirmed"


def test_a_small_model_does_not_overflow_and_says_it_was_not_tested(ctx):
    finding = check("exploding-gradients-overflow", ctx)
    assert finding.evidence["non_finite_gradient_entries"] == 0
    assert finding.verdict == "not tested at this budget" and finding.needs
