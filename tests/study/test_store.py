"""The SQLite store: planning, claiming, finishing, resuming, metadata and JSON payloads."""

from __future__ import annotations

import sqlite3

from gradtrace.study.expand import RunConfig, config_key
from gradtrace.study.store import Store, open_store


def run(seq_len: int, seed: int = 0, variant: str = "tanh RNN") -> RunConfig:
    config = {
        "model": {"cell": "rnn"},
        "task": {"name": "adding", "seq_len": seq_len},
        "train": {"seed": seed},
    }
    return RunConfig(config_key(config), variant, "baseline", config)


def outcome(status: str = "solved", **record) -> dict:
    return {
        "status": status,
        "record": {"status": status, "steps": 10, "metric": 0.001, **record},
        "error": None,
        "started": 100.0,
        "finished": 101.5,
        "worker": "host:1",
    }


def test_planned_runs_are_pending_and_planning_twice_adds_nothing(tmp_path):
    runs = [run(10), run(20)]
    with open_store(tmp_path) as store:
        store.plan(runs)
        store.plan(runs)
        assert store.counts() == {"pending": 2}
        assert store.todo([r.key for r in runs]) == [r.key for r in runs]
        rows = store.rows()
    assert [(r["key"], r["task"], r["seq_len"], r["seed"]) for r in rows] == [
        (runs[0].key, "adding", 10, 0),
        (runs[1].key, "adding", 20, 0),
    ]
    assert rows[0]["config"] == runs[0].config


def test_a_finished_run_round_trips_with_its_metrics_and_record(tmp_path):
    first = run(10)
    with open_store(tmp_path) as store:
        store.plan([first])
        store.mark_started(first.key, worker="w1")
        assert store.counts() == {"running": 1}
        store.finish(
            first.key, outcome(time_per_step_s=0.02, n_params=321, extra={"step_memory_mb": 2.5})
        )
    with open_store(tmp_path, readonly=True) as store:  # reopened: it was committed
        (row,) = store.rows()
        assert store.todo([first.key]) == []
    assert row["status"] == "solved"
    assert row["steps"] == 10 and row["metric"] == 0.001
    assert row["time_per_step_s"] == 0.02 and row["n_params"] == 321
    assert row["step_memory_mb"] == 2.5
    assert row["record"]["status"] == "solved"
    assert (row["started"], row["finished"], row["worker"], row["attempts"]) == (
        100.0,
        101.5,
        "host:1",
        1,
    )


def test_stale_running_runs_go_back_to_pending_and_failed_ones_rerun_only_on_request(tmp_path):
    a, b, c = run(10), run(20), run(30)
    keys = [a.key, b.key, c.key]
    with open_store(tmp_path) as store:
        store.plan([a, b, c])
        store.mark_started(a.key, worker="w")
        store.mark_started(b.key, worker="w")
        store.finish(b.key, {"status": "failed", "error": "RuntimeError: x"})
    with open_store(tmp_path) as store:  # as after a SIGKILL: a is still 'running'
        assert store.release_stale() == 1
        assert store.todo(keys) == [a.key, c.key]
        assert store.todo(keys, retry_failed=True) == keys
        assert store.rows([b.key])[0]["error"] == "RuntimeError: x"


def test_an_interrupt_sends_running_runs_back_but_keeps_a_run_that_just_finished(tmp_path):
    a, b = run(10), run(20)
    with open_store(tmp_path) as store:
        store.plan([a, b])
        store.mark_started(a.key, worker="w")
        store.mark_started(b.key, worker="w")
        store.finish(b.key, outcome())  # finished before the interrupt reached the loop
        store.mark_pending([a.key, b.key])
        statuses = {r["key"]: r["status"] for r in store.rows()}
    assert statuses == {a.key: "pending", b.key: "solved"}


def test_unknown_statuses_are_stored_as_failed(tmp_path):
    a = run(10)
    with open_store(tmp_path) as store:
        store.plan([a])
        store.finish(a.key, {"status": "weird"})
        assert store.counts() == {"failed": 1}


def test_relabelled_variants_keep_their_results(tmp_path):
    a = run(10)
    with open_store(tmp_path) as store:
        store.plan([a])
        store.finish(a.key, outcome())
        store.plan([RunConfig(a.key, "renamed", "new", a.config)])
        (row,) = store.rows()
    assert (row["variant"], row["technique"], row["status"]) == ("renamed", "new", "solved")


def test_meta_and_json_payloads_round_trip(tmp_path):
    with open_store(tmp_path) as store:
        store.set_meta("spec", {"name": "x", "seeds": [0, 1]})
        store.put_json("audit", "claim-1", {"verdict": "holds", "value": 0.5})
        store.put_json("audit", "claim-2", {"verdict": "fails"})
        store.put_json("audit", "claim-1", {"verdict": "partly"})
        store.put_json("other", "k", [1, 2])
    with open_store(tmp_path) as store:
        assert store.get_meta("spec") == {"name": "x", "seeds": [0, 1]}
        assert store.get_meta("missing", 7) == 7
        assert store.get_meta("schema_version") == 1
        assert store.get_json("audit") == {
            "claim-1": {"verdict": "partly"},
            "claim-2": {"verdict": "fails"},
        }
        assert store.get_json("other") == {"k": [1, 2]}
        assert store.get_json("none") == {}


def test_the_database_uses_write_ahead_logging(tmp_path):
    Store(tmp_path / "results.sqlite").close()
    mode = sqlite3.connect(tmp_path / "results.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert mode == ("wal",)
