"""Study-file options reach the run configs: the regularizer, the shared defaults."""

from __future__ import annotations

from gradtrace import defaults
from gradtrace.study.expand import expand
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.presets import preset


def _spec(**extra):
    return spec_from_dict(
        {
            "tasks": ["temporal_order"],
            "seq_lens": [20],
            "variant": [
                {"name": "plain"},
                {"name": "regularized", "vanishing_reg": 2.0},
                {"name": "LSTM", "cell": "lstm"},
                {"name": "chrono LSTM", "cell": "lstm", "init": "chrono"},
            ],
            **extra,
        }
    )


def test_the_regularizer_is_a_train_option_and_off_leaves_run_keys_alone():
    runs = {r.variant: r for r in expand(_spec())}
    assert runs["regularized"].config["train"]["vanishing_reg"] == 2.0
    assert "vanishing_reg" not in runs["plain"].config["train"]
    on_all = {r.variant: r for r in expand(_spec(train={"vanishing_reg": 1.0}))}
    assert on_all["plain"].config["train"]["vanishing_reg"] == 1.0


def test_one_set_of_defaults_in_the_study():
    runs = {r.variant: r for r in expand(_spec())}
    train = runs["plain"].config["train"]
    assert (train["lr"], train["batch_size"]) == (defaults.LR, defaults.BATCH_SIZE)
    assert runs["LSTM"].config["model"]["forget_bias"] == defaults.LSTM_FORGET_BIAS
    assert runs["chrono LSTM"].config["model"]["forget_bias"] is None  # chrono sets its own
    assert runs["plain"].config["model"]["forget_bias"] is None


def test_the_standard_preset_regularizes_on_temporal_order_and_budgets_in_steps():
    spec = preset("standard")
    regularized = [r for r in expand(spec) if r.config["train"].get("vanishing_reg")]
    assert regularized and {r.task for r in regularized} == {"temporal_order"}
    assert spec.budget.max_steps >= 10000 and spec.tune is not None
