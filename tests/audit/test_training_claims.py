"""Training claims: every branch of the verdict rules, real tiny runs, and reuse of stored runs."""

from __future__ import annotations

import json

import pytest

from gradtrace.audit import training_claims as tc
from gradtrace.audit.budget import TINY
from gradtrace.audit.engine import run_configs
from gradtrace.audit.registry import CLAIMS
from gradtrace.audit.runner import AUDIT_JSON, load_results, run_audit
from gradtrace.study.store import open_store

TRAINING = [c.id for c in CLAIMS.values() if c.runs is not None]


def runs(*statuses: str, steps: int = 100, ratio: float = 0.05) -> list[dict]:
    return [
        {
            "status": s,
            "steps_to_solve": steps if s == "solved" else None,
            "metric_over_baseline": ratio if s == "solved" else 1.0,
        }
        for s in statuses
    ]


@pytest.mark.parametrize(
    ("short", "long", "verdict"),
    [
        ({10: runs("solved"), 25: runs("unsolved")}, runs("unsolved"), "confirmed"),
        ({10: runs("unsolved"), 25: runs("unsolved")}, runs("unsolved"), "not tested"),
        ({10: runs("solved"), 25: runs("solved")}, runs("solved"), "nuanced"),
        ({10: [], 25: runs("solved")}, runs("unsolved"), "not tested"),
    ],
)
def test_length_sensitivity_rule(short, long, verdict):
    assert tc.judge_length(short, long, 100)[0].startswith(verdict)


@pytest.mark.parametrize(
    ("relu_long", "leaky_short", "verdict"),
    [
        ("unsolved", "solved", "confirmed"),
        ("solved", "solved", "nuanced"),
        ("unsolved", "unsolved", "not tested"),
    ],
)
def test_relu_short_sequence_rule(relu_long, leaky_short, verdict):
    by_variant = {
        tc.RELU: {10: runs("solved"), 100: runs(relu_long)},
        tc.LEAKY: {10: runs(leaky_short), 100: runs("unsolved")},
    }
    assert tc.judge_relu(by_variant, 100)[0].startswith(verdict)


@pytest.mark.parametrize(
    ("lstm", "gru", "rnn", "verdict"),
    [
        ("solved", "solved", "unsolved", "confirmed"),
        ("solved", "unsolved", "unsolved", "nuanced"),
        ("solved", "solved", "solved", "nuanced"),
        ("unsolved", "unsolved", "unsolved", "not tested"),
    ],
)
def test_gated_cells_rule(lstm, gru, rnn, verdict):
    assert tc.judge_gated(runs(lstm), runs(gru), runs(rnn), 100)[0].startswith(verdict)


def test_on_par_rule_compares_solve_rates_then_steps():
    assert tc.judge_on_par(runs("solved"), runs("solved", steps=150), 100)[0] == "confirmed"
    verdict, text = tc.judge_on_par(runs("solved", steps=700), runs("solved", steps=250), 100)
    assert verdict == "nuanced" and "GRU learned it more than twice as fast" in text
    assert tc.judge_on_par(runs("solved"), runs("unsolved"), 100)[0] == "nuanced"  # one seed
    three = tc.judge_on_par(runs("solved", "solved", "solved"), runs(*["unsolved"] * 3), 100)
    assert three[0] == "refuted"
    assert tc.judge_on_par(runs("unsolved"), runs("unsolved"), 100)[0].startswith("not tested")


def fake_record(variant: str, seq_len: int) -> dict:
    """LSTM and GRU solve everything; RNNs only the short lengths."""
    solved = variant in (tc.LSTM, tc.GRU) or seq_len < TINY.long_len
    return {
        "status": "solved" if solved else "unsolved",
        "metric": 0.001 if solved else 0.17,
        "baseline": 1 / 6,
        "steps": 40,
        "steps_to_solve": 20 if solved else None,
    }


def fill_study(folder, *, fail: str | None = None) -> int:
    """A study folder holding every tiny-budget run the training claims read, with fake results."""
    requests = [r for cid in TRAINING for r in CLAIMS[cid].requests(TINY)]
    configs = run_configs(TINY, requests)
    with open_store(folder) as store:
        store.plan(configs)
        for run in configs:
            record = fake_record(run.variant, run.seq_len)
            status = "failed" if run.variant == fail else record["status"]
            store.finish(run.key, {"status": status, "record": record, "worker": "test"})
    return len(configs)


def test_finished_runs_of_a_study_are_reused_not_trained_again(tmp_path):
    total = fill_study(tmp_path / "study")
    report = run_audit(
        budget=TINY,
        claims=TRAINING,
        out_dir=tmp_path / "out",
        study_dir=tmp_path / "study",
        workers=0,
    )
    assert report.runs["total"] == total == report.runs["reused_from_study"]
    assert report.runs["trained"] == 0
    verdicts = {r.id: r.verdict for r in report.results}
    assert verdicts["gated-cells-long-sequences"] == "confirmed"
    assert verdicts["rnn-length-sensitivity"] == "confirmed"
    assert verdicts["lstm-1000-steps"] == "not tested at this budget"
    with open_store(tmp_path / "out", readonly=True) as store:
        assert len(store.rows()) == total  # the audit folder is a study folder too


def test_a_failed_study_run_is_trained_again(tmp_path):
    fill_study(tmp_path / "study", fail=tc.GRU)
    report = run_audit(
        budget=TINY,
        claims=["gru-on-par-with-lstm"],
        out_dir=tmp_path / "out",
        study_dir=tmp_path / "study",
        workers=0,
    )
    assert report.runs == {**report.runs, "reused_from_study": 1, "trained": 1}


def test_training_claims_run_end_to_end_and_a_second_audit_reuses_them(tmp_path):
    first = run_audit(budget=TINY, claims=TRAINING, out_dir=tmp_path, workers=0)
    assert first.runs["trained"] == first.runs["total"] > 0
    for result in first.results:
        assert result.verdict != "error", result.error
        assert result.budget == "tiny"
    stored = {r.id: r for r in load_results(tmp_path)}
    assert set(stored) == set(TRAINING)
    data = json.loads((tmp_path / AUDIT_JSON).read_text())
    assert {r["id"] for r in data["results"]} == set(TRAINING)
    again = run_audit(budget=TINY, claims=TRAINING, out_dir=tmp_path, workers=0)
    assert again.runs["trained"] == 0
    assert [r.verdict for r in again.results] == [r.verdict for r in first.results]


def test_training_claims_need_a_folder_for_their_runs():
    with pytest.raises(ValueError, match="out_dir"):
        run_audit(budget=TINY, claims=["gated-cells-long-sequences"], out_dir=None)


def test_quick_audit_runs_have_the_keys_of_the_quick_study_runs():
    from gradtrace.audit.budget import BUDGETS
    from gradtrace.study.presets import preset
    from gradtrace.study.tuning import reported_runs

    study = {r.key: r for r in reported_runs(preset("quick"))}  # with the tuned rates
    requests = [r for cid in TRAINING for r in CLAIMS[cid].requests(BUDGETS["quick"])]
    audit = run_configs(BUDGETS["quick"], requests)
    shared = [r for r in audit if r.key in study]
    assert {(r.variant, r.seq_len) for r in shared} >= {
        ("LSTM", 100),
        ("GRU", 100),
        ("tanh RNN", 10),
        ("ReLU RNN", 25),
    }
    for run in shared:
        assert study[run.key].config == run.config
