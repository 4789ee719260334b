"""A node lost mid-study loses nothing: Ray reruns its runs on the surviving node, once each."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from study_fake_runs import LOG_ENV, SLEEP_ENV

from gradtrace.study.loading import spec_from_dict
from gradtrace.study.runner import run_study
from gradtrace.study.store import FINISHED, open_store

ray = pytest.importorskip("ray", reason="the Ray executor is the optional [ray] extra")
cluster_utils = pytest.importorskip("ray.cluster_utils")

SUPPORT = Path(__file__).parent / "support"
SRC = Path(__file__).resolve().parents[2] / "src"


class KillNodeOnFirstResult:
    """A study progress that removes one cluster node when the first run comes back."""

    def __init__(self, cluster, node) -> None:
        self.cluster, self.node = cluster, node
        self.finished_at_kill: int | None = None
        self.finished = 0

    def start(self, *, total: int, done: int, counts: dict[str, int]) -> None:
        pass

    def update(self, row: dict) -> None:
        self.finished += 1
        if self.finished_at_kill is None:
            self.finished_at_kill = self.finished
            self.cluster.remove_node(self.node, allow_graceful=False)

    def stop(self) -> None:
        pass


@pytest.mark.slow
def test_a_node_killed_mid_study_loses_and_repeats_nothing(tmp_path, monkeypatch):
    log = tmp_path / "runs.log"
    path = os.pathsep.join([str(SUPPORT), str(SRC), os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path)  # the nodes' workers inherit it
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setenv(SLEEP_ENV, "2.0")
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10, 20, 30],
            "seeds": [0, 1],
            "variant": [{"name": "LSTM", "cell": "lstm"}],
        }
    )
    cluster = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False}
    )
    try:
        doomed = cluster.add_node(num_cpus=2)
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        progress = KillNodeOnFirstResult(cluster, doomed)
        summary = run_study(
            spec,
            tmp_path / "out",
            workers=4,
            executor="ray",
            address=cluster.address,
            run_fn="study_fake_runs:uneven_run",
            progress=progress,
        )
        assert not ray.is_initialized()  # the executor disconnected from the cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert progress.finished_at_kill == 1  # the node went while five runs were unfinished
    assert summary.ran == 6 and summary.counts.get("failed", 0) == 0
    with open_store(tmp_path / "out", readonly=True) as store:
        rows = store.rows()
    assert len(rows) == 6 and len({r["key"] for r in rows}) == 6
    assert all(r["status"] in FINISHED and r["status"] != "failed" for r in rows)
    assert all(r["attempts"] == 1 for r in rows)  # one result stored per run
    lines = log.read_text().split()
    starts = Counter(k for word, k in zip(lines[::2], lines[1::2], strict=True) if word == "start")
    ends = Counter(k for word, k in zip(lines[::2], lines[1::2], strict=True) if word == "end")
    assert set(ends) == {r["key"] for r in rows}  # every run completed somewhere...
    assert set(ends.values()) == {1}  # ...exactly once
    assert set(starts) == set(ends)  # (a run cut off on the lost node may have started twice)
