"""/api/live follows a monitor log from a byte offset; /api/compare overlays chosen results."""

from __future__ import annotations

import json

import pytest
import torch
from fastapi.testclient import TestClient

from gradtrace.monitor import JsonlSink, Monitor
from gradtrace.web.app import create_app


@pytest.fixture
def live(tmp_path):
    """A lab over an empty folder, and a helper that trains a tiny RNN with a monitor there."""
    with TestClient(create_app(tmp_path), base_url="http://localhost") as c:
        yield c, tmp_path


def _train(path, steps, *, run_id, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.RNN(2, 4, batch_first=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = Monitor(model, opt, sinks=[JsonlSink(path, run_id=run_id)], profile_every=0,
                      flush_every=1, warn=False)  # fmt: skip
    for _ in range(steps):
        opt.zero_grad()
        out, _ = model(torch.randn(3, 5, 2))
        out.pow(2).mean().backward()
        monitor.log(loss=out.pow(2).mean())
        opt.step()
    return monitor


def test_polling_from_an_offset_returns_only_new_complete_lines(live):
    client, folder = live
    path = folder / "train.jsonl"
    monitor = _train(path, 3, run_id="a")
    first = client.get("/api/live/train.jsonl").json()
    assert [r["kind"] for r in first["records"]] == ["run", "step", "step", "step"]
    assert first["offset"] == path.stat().st_size and not first["reset"]
    with path.open("a") as f:
        f.write('{"step": 3, "kind": "step", "global_norm": 1.5}\n{"step": 4, "ki')
    second = client.get(f"/api/live/train.jsonl?offset={first['offset']}").json()
    assert [r["step"] for r in second["records"]] == [3]  # the half line waits
    assert second["offset"] == path.stat().st_size - len('{"step": 4, "ki')
    monitor.close()
    path.write_text('{"step": 0, "kind": "run", "run": "b"}\n')  # a new, shorter file
    again = client.get(f"/api/live/train.jsonl?offset={second['offset']}").json()
    assert again["reset"] and [r["run"] for r in again["records"]] == ["b"]
    path.unlink()  # replaced by a longer file: its identity tells, not its size
    path.write_text("".join(f'{{"step": {i}, "kind": "step"}}\n' for i in range(50)))
    url = f"/api/live/train.jsonl?offset={again['offset']}&file={again['file']}"
    replaced = client.get(url).json()
    assert replaced["reset"] and [r["step"] for r in replaced["records"]] == list(range(50))


def test_live_refuses_what_is_not_a_monitor_log(live):
    client, folder = live
    (folder / "probe.json").write_text(json.dumps({"not": "a probe"}))
    assert client.get("/api/live/nothing.jsonl").status_code == 404
    assert client.get("/api/live/x.jsonl?offset=-1").status_code == 422


def test_compare_overlays_every_run_of_a_log_and_other_results_chart_by_chart(live):
    client, folder = live
    _train(folder / "a.jsonl", 3, run_id="first").close()
    _train(folder / "a.jsonl", 2, run_id="second", seed=1).close()
    _train(folder / "b.jsonl", 4, run_id="other").close()
    data = client.get("/api/compare?ids=a.jsonl&ids=b.jsonl").json()
    assert data["sources"] == ["a.jsonl · run first", "a.jsonl · run second", "b.jsonl"]
    charts = {c["key"]: c for c in data["charts"]}
    norms = charts["global-norm"]["series"]
    before = [s for s in norms if s["name"].endswith("global norm (before clipping)")]
    assert [len(s["x"]) for s in before] == [3, 2, 4]
    assert {s["source"] for s in charts["loss"]["series"]} == set(data["sources"])
    assert client.get("/api/compare?ids=missing.jsonl").status_code == 404
    assert client.get("/api/compare").status_code == 422


def test_one_run_of_a_monitor_log_is_served_on_request_the_latest_by_default(live):
    client, folder = live
    _train(folder / "a.jsonl", 3, run_id="first").close()
    _train(folder / "a.jsonl", 2, run_id="second").close()

    def steps(url):
        sections = {s["key"]: s for s in client.get(url).json()["sections"]}
        return {f["label"]: f["value"] for f in sections["norms"]["facts"]}["steps logged"]

    assert steps("/api/results/a.jsonl") == "2"
    assert steps("/api/results/a.jsonl?run=first") == "3"
    bad = client.get("/api/results/a.jsonl?run=third")
    assert bad.status_code == 422 and bad.json()["detail"].startswith("run: 'third' is not allowed")
