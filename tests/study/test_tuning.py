"""Learning-rate tuning: successive halving picks the rate with the best held-out result."""

from __future__ import annotations

import math

import pytest
from study_fake_runs import LOG_ENV, lr_sensitive_run

from gradtrace.study.expand import expand
from gradtrace.study.loading import SpecError, spec_from_dict
from gradtrace.study.runner import run_study
from gradtrace.study.store import open_store
from gradtrace.study.tables import study_tables
from gradtrace.study.tune_spec import TuneSpec
from gradtrace.study.tuning import rank, rung_budgets, score, search, search_size

FAKE = "study_fake_runs:lr_sensitive_run"
SPEC = {
    "name": "tuned",
    "tasks": ["adding"],
    "seq_lens": [10, 30, 50],
    "seeds": [0, 1],
    "budget": {"max_steps": 2700},
    "variant": [{"name": "tanh RNN"}, {"name": "LSTM", "cell": "lstm"}],
    "tune": {"eta": 3, "rungs": 3},
}


def direct(calls: list[int]):
    def execute(batch):
        calls.append(len(batch))
        return {
            r.key: {"status": (rec := lr_sensitive_run(r.config))["status"], "record": rec}
            for r in batch
        }

    return execute


def test_rung_budgets_divide_the_step_budget_by_eta():
    assert rung_budgets(2700, 3, 3) == [300, 900, 2700]
    assert rung_budgets(10, 3, 1) == [10]
    assert rung_budgets(2, 4, 3) == [1, 1, 2]


def test_the_held_out_score_puts_solved_first_then_progress_then_broken_runs():
    solved = {"status": "solved", "record": {"steps_to_solve": 500}}
    near = {"status": "unsolved", "record": {"best_metric": 0.01, "baseline": 0.2}}
    far = {"status": "unsolved", "record": {"best_metric": 0.19, "baseline": 0.2}}
    late = {"status": "out_of_time", "record": {"best_metric": 0.1, "baseline": 0.2}}
    broken = {"status": "diverged", "record": {}}
    assert score(solved) == (0, 500.0)
    assert score(near) == (1, pytest.approx(-0.95))
    assert score(late) == (1, pytest.approx(-0.5))
    assert rank({1e-2: broken, 1e-3: far, 3e-3: near, 1e-4: solved, 3e-4: late}) == [
        1e-4,
        3e-3,
        3e-4,
        1e-3,
        1e-2,
    ]
    # ties go to the smaller learning rate
    assert rank({1e-2: far, 1e-3: far}) == [1e-3, 1e-2]


def test_tuning_picks_the_rate_with_the_best_held_out_metric_at_a_small_cost():
    spec = spec_from_dict(SPEC)
    calls: list[int] = []
    chosen, log = search(expand(spec), spec.tune, direct(calls))
    assert chosen["tanh RNN|adding|10"] == 3e-3 and chosen["LSTM|adding|10"] == 3e-3
    assert chosen["tanh RNN|adding|30"] == 1e-3
    # nothing solves T=50 within budget: the best held-out metric decides
    assert chosen["LSTM|adding|50"] == 1e-3
    # T=10 at 3e-3 solves in 300 steps: decided at the first rung
    first = next(e for e in log if e["cell"] == "tanh RNN|adding|10")
    assert first["rung"] == 0 and first["kept"] == [3e-3]
    assert max(e["rung"] for e in log if e["cell"] == "LSTM|adding|50") == 2
    # cost: at most 5/9 + 2/3 + 1 of one full run per cell
    steps = sum(e["steps"] * len(e["scores"]) for e in log)
    cells = 6
    assert steps <= cells * 2700 * (5 / 9 + 2 / 3 + 1) + 1e-9
    assert sum(calls) <= search_size(expand(spec), spec.tune) == cells * (5 + 2 + 1)


def test_the_protocol_is_deterministic_whatever_the_order_runs_come_in():
    spec = spec_from_dict(SPEC)
    one = search(expand(spec), spec.tune, direct([]))
    assert search(expand(spec), spec.tune, direct([])) == one
    chosen, log = search(list(reversed(expand(spec))), spec.tune, direct([]))
    assert chosen == one[0]
    assert sorted(map(repr, log)) == sorted(map(repr, one[1]))


def test_a_tuned_study_stores_its_search_resumes_and_reports_the_chosen_rates(
    tmp_path, monkeypatch
):
    log = tmp_path / "calls.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    spec = spec_from_dict(SPEC)
    summary = run_study(spec, tmp_path / "s", workers=2, run_fn="study_fake_runs:lr_sensitive_run")
    assert summary.total == 12 and summary.counts.get("solved", 0) == 8
    with open_store(tmp_path / "s", readonly=True) as store:
        lrs = store.get_meta("tuned_lrs")
        reported = [r for r in store.rows() if r["technique"] != "lr tuning"]
    assert lrs["tanh RNN|adding|30"] == 1e-3
    assert {r["config"]["train"]["lr"] for r in reported if r["seq_len"] == 10} == {3e-3}
    assert all(r["config"]["train"]["seed"] in (0, 1) for r in reported)
    calls = len(log.read_text().splitlines())
    again = run_study(spec, tmp_path / "s", workers=2, run_fn="study_fake_runs:lr_sensitive_run")
    assert again.ran == 0 and len(log.read_text().splitlines()) == calls
    matrix = next(t for t in study_tables(tmp_path / "s") if t.name == "success_matrix")
    assert matrix.rows[0][2].endswith("lr 3e-3")
    assert matrix.rows[0][3].endswith("lr 1e-3")


def test_the_tuning_seed_must_be_held_out_and_the_grid_positive():
    with pytest.raises(SpecError, match=r"tune\.seed"):
        spec_from_dict({**SPEC, "tune": {"seed": 1}})
    with pytest.raises(ValueError, match=r"tune\.grid"):
        TuneSpec(grid=(1e-3, -1.0))
    assert TuneSpec(grid=(1e-2, 1e-4, 1e-3)).grid == (1e-4, 1e-3, 1e-2)
    assert math.isclose(min(TuneSpec().grid or (1e-4,)), 1e-4)


def test_a_search_stopped_early_marks_undecided_cells_provisional(tmp_path):
    import json

    from gradtrace.study.tuning import write_chosen

    spec = spec_from_dict({**SPEC, "tune": {"stop_after": 1}})
    chosen, log = search(expand(spec), spec.tune, direct([]))
    assert max(e["rung"] for e in log) == 0 and len(chosen) == 6
    provisional = {e["cell"] for e in log if e["provisional"]}
    assert "tanh RNN|adding|10" not in provisional  # solved at rung 0: decided for good
    assert "LSTM|adding|50" in provisional
    write_chosen(tmp_path / "lrs.json", spec, chosen, log)
    data = json.loads((tmp_path / "lrs.json").read_text())
    assert data["complete"] is False and "LSTM|adding|50" in data["provisional"]
    assert data["command"].endswith("--search-stop-after 1") and data["lrs"] == chosen


def test_a_start_stopped_during_its_search_is_on_record_with_its_machine(tmp_path, monkeypatch):
    import gradtrace.study.runner as runner

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "search", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_study(spec_from_dict(SPEC), tmp_path / "s", workers=1, run_fn=FAKE)
    with open_store(tmp_path / "s", readonly=True) as store:
        (start,) = store.get_meta("invocations")
        env = store.get_meta("environment")
    assert start["todo"] is None and start["cpu"] == env["cpu_model"] and env["workers"] == 1
