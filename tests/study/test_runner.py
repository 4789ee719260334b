"""run_study with fast fake run functions: every run once, resumable, crashes recorded."""

from __future__ import annotations

import sys

import pytest
from study_fake_runs import LOG_ENV

from gradtrace.errors import InvalidValue
from gradtrace.study.expand import expand
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.lock import study_lock
from gradtrace.study.runner import run_study, schedule
from gradtrace.study.store import open_store
from gradtrace.study.worker import run_one

SPEC = {
    "name": "fake",
    "tasks": ["adding"],
    "seq_lens": [10, 20, 30, 40],
    "seeds": [0, 1],
    "variant": [{"name": "tanh RNN"}, {"name": "LSTM", "cell": "lstm"}],
}


@pytest.fixture
def log(tmp_path, monkeypatch):
    path = tmp_path / "calls.log"
    monkeypatch.setenv(LOG_ENV, str(path))
    return path


def calls(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_every_run_executes_exactly_once_and_a_rerun_executes_none(tmp_path, log):
    spec = spec_from_dict(SPEC)
    summary = run_study(spec, tmp_path / "out", workers=2, run_fn="study_fake_runs:quick_run")
    assert (summary.total, summary.ran, summary.skipped) == (16, 16, 0)
    assert summary.counts == {"solved": 12, "unsolved": 4}
    assert sorted(calls(log)) == sorted(
        f"{cell} {t} {seed}"
        for cell in ("rnn", "lstm")
        for t in (10, 20, 30, 40)
        for seed in (0, 1)
    )
    again = run_study(spec, tmp_path / "out", workers=2, run_fn="study_fake_runs:quick_run")
    assert (again.ran, again.skipped) == (0, 16)
    assert len(calls(log)) == 16
    with open_store(tmp_path / "out") as store:
        assert store.get_meta("spec")["name"] == "fake"
        assert store.get_meta("environment")["workers"] == 2
        assert [i["todo"] for i in store.get_meta("invocations")] == [16, 0]
        cpus = {i["cpu"] for i in store.get_meta("invocations")}
        assert cpus == {store.get_meta("environment")["cpu_model"]}  # each start names its CPU


def test_growing_a_study_runs_only_the_new_runs(tmp_path, log):
    run_study(spec_from_dict(SPEC), tmp_path, workers=1, run_fn="study_fake_runs:quick_run")
    bigger = spec_from_dict({**SPEC, "seeds": [0, 1, 2]})
    summary = run_study(bigger, tmp_path, workers=2, run_fn="study_fake_runs:quick_run")
    assert (summary.ran, summary.skipped) == (8, 16)
    assert sorted(line.split()[2] for line in calls(log)[16:]) == ["2"] * 8


def test_a_crashing_run_is_recorded_failed_and_the_study_goes_on(tmp_path, log):
    summary = run_study(
        spec_from_dict(SPEC), tmp_path, workers=2, run_fn="study_fake_runs:crashing_run"
    )
    assert summary.counts == {"solved": 6, "unsolved": 2, "failed": 8}
    with open_store(tmp_path) as store:
        errors = {(r["seq_len"], r["error"].splitlines()[0]) for r in store.rows() if r["error"]}
    assert errors == {
        (20, "RuntimeError: boom at T=20"),
        (30, "WorkerDied: the worker process died during the run (exit code 3)"),
    }


def test_failed_runs_rerun_only_with_retry_failed(tmp_path, log):
    spec = spec_from_dict(SPEC)
    run_study(spec, tmp_path, workers=2, run_fn="study_fake_runs:crashing_run")
    assert run_study(spec, tmp_path, workers=2, run_fn="study_fake_runs:quick_run").ran == 0
    retried = run_study(
        spec, tmp_path, workers=2, run_fn="study_fake_runs:quick_run", retry_failed=True
    )
    assert retried.ran == 8
    assert retried.counts == {"solved": 12, "unsolved": 4}


def test_run_one_turns_exceptions_and_bad_records_into_failures():
    bad = run_one(
        "study_fake_runs:crashing_run", expand(spec_from_dict({**SPEC, "seq_lens": [20]}))[0].config
    )
    assert bad["status"] == "failed" and bad["error"].startswith("RuntimeError: boom at T=20")
    assert run_one(lambda config: {"status": "great"}, {})["status"] == "failed"
    assert run_one(lambda config: [], {})["error"].startswith("TypeError")
    assert run_one("no_such_module:fn", {})["error"].startswith("ModuleNotFoundError")
    good = run_one(lambda config: {"status": "solved", "metric": float("nan")}, {})
    assert good["status"] == "solved" and good["record"]["metric"] is None


def test_long_sequences_are_scheduled_first():
    runs = expand(spec_from_dict(SPEC))
    order = schedule(runs, {r.key for r in runs})
    assert [r.seq_len for r in order] == [40] * 4 + [30] * 4 + [20] * 4 + [10] * 4


def test_a_folder_in_use_by_another_study_is_refused(tmp_path):
    with study_lock(tmp_path), pytest.raises(InvalidValue, match="a study is running there"):
        run_study(spec_from_dict(SPEC), tmp_path, run_fn="study_fake_runs:quick_run")


def test_bad_executor_options_are_refused_before_anything_runs(tmp_path):
    spec = spec_from_dict(SPEC)
    with pytest.raises(InvalidValue, match=r"run_fn: .* is not allowed; a module-level function"):
        run_study(spec, tmp_path, run_fn=lambda config: {})
    with pytest.raises(InvalidValue, match="--executor: 'dask' is not allowed"):
        run_study(spec, tmp_path, executor="dask")
    with pytest.raises(InvalidValue, match="--workers: 0 is not allowed"):
        run_study(spec, tmp_path, workers=0)
    with pytest.raises(InvalidValue, match="--address: 'auto' is not allowed; only with"):
        run_study(spec, tmp_path, address="auto")
    assert not (tmp_path / "results.sqlite").exists()


def test_an_invalid_combination_is_refused_before_anything_runs(tmp_path):
    spec = spec_from_dict(
        {
            "tasks": [{"name": "copy", "seq_lens": [30]}],
            "seq_lens": [10],
            "variant": [{"name": "attentive", "readout": "attention"}],
        }
    )
    with pytest.raises(
        InvalidValue, match=r"^study: variant 'attentive' on copy T=30: model.readout"
    ):
        run_study(spec, tmp_path)
    assert not (tmp_path / "results.sqlite").exists()


def test_workers_that_cannot_start_stop_the_study_with_one_clear_error(tmp_path, monkeypatch):
    import types

    from gradtrace.study.local import WorkerStartError

    module = types.ModuleType("only_in_the_parent")  # spawned workers cannot import it

    def run(config):
        return {"status": "solved"}

    run.__module__, run.__qualname__ = module.__name__, "run"
    module.run = run
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(WorkerStartError, match="worker processes die before they start"):
        run_study(spec_from_dict(SPEC), tmp_path, workers=2, run_fn=run)
    with open_store(tmp_path) as store:
        assert store.counts() == {"pending": 16}  # nothing lost, nothing marked running


def test_the_cpu_model_comes_from_proc_cpuinfo_where_there_is_one(tmp_path, monkeypatch):
    import builtins

    from gradtrace.study import environment

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU 9000 @ 3.0GHz\nflags\t: fpu\n")
    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        return real_open(info if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    assert environment.cpu_model() == "Example CPU 9000 @ 3.0GHz"
    monkeypatch.setattr(builtins, "open", lambda *a, **k: (_ for _ in ()).throw(OSError("none")))
    monkeypatch.setattr(environment.platform, "processor", lambda: "x86_64")
    assert environment.cpu_model() == "x86_64"
