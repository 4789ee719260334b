"""The Ray executor runs a tiny real study on a local Ray instance and shuts it down after."""

from __future__ import annotations

import pytest

from gradtrace.study.loading import spec_from_dict
from gradtrace.study.runner import run_study
from gradtrace.study.store import open_store

ray = pytest.importorskip("ray", reason="the Ray executor is the optional [ray] extra")


@pytest.mark.slow
def test_a_tiny_study_runs_on_a_local_ray_instance(tmp_path):
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10],
            "seeds": [0, 1],
            "variant": [{"name": "GRU", "cell": "gru", "hidden_size": 8}],
            "budget": {"max_steps": 5, "max_seconds": 10.0},
            "train": {"eval_every": 5, "eval_batch_size": 32, "batch_size": 16, "profiles": False},
        }
    )
    summary = run_study(spec, tmp_path, workers=2, executor="ray")
    assert not ray.is_initialized()  # the instance it started is gone
    assert summary.ran == 2 and summary.counts.get("failed", 0) == 0
    with open_store(tmp_path) as store:
        rows = store.rows()
    assert {r["status"] for r in rows} <= {"solved", "unsolved"}
    assert all(r["steps"] == 5 and r["n_params"] == 3 * (8 * 2 + 8 * 8 + 2 * 8) + 9 for r in rows)
    assert all(r["record"]["model_spec"]["cell"] == "gru" for r in rows)
    assert run_study(spec, tmp_path, workers=2, executor="ray").ran == 0
