"""Probe jobs show progress and can be cancelled; the form's schema offers only valid probes."""

from __future__ import annotations

import itertools
import time

import pytest

from gradtrace.errors import GradtraceError
from gradtrace.web.routes_probe import probe_spec
from gradtrace.web.schemas import ProbeRequest


def _wait(client, job_id, *, until=("done", "failed", "cancelled"), timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        view = client.get(f"/api/probe/jobs/{job_id}").json()
        if view["state"] in until or time.monotonic() > deadline:
            return view
        time.sleep(0.05)


def test_a_probe_job_reports_progress_then_the_same_result_as_a_direct_probe(client):
    request = {"cell": "gru", "hidden_size": 16, "seq_len": 30, "batch_size": 4, "seed": 2}
    started = client.post("/api/probe/jobs", json=request)
    assert started.status_code == 202
    first = started.json()
    assert first["state"] == "running" and first["progress_is_estimate"] and first["expected_s"] > 0
    done = _wait(client, first["id"])
    assert done["state"] == "done" and done["progress"] == 1.0 and not done["progress_is_estimate"]
    direct = client.post("/api/probe", json=request).json()
    assert done["result"]["layers"][0]["g"] == direct["layers"][0]["g"]
    assert client.get("/api/probe/jobs/nope").status_code == 404


def test_a_long_probe_job_is_cancelled_and_frees_the_lab_for_the_next(client, app):
    from gradtrace.bounds import WEB

    big = {"cell": "lstm", "hidden_size": 256, "seq_len": WEB.seq_len, "batch_size": 32}
    big["dtype"] = "float64"  # several seconds: still running when it is cancelled
    job = client.post("/api/probe/jobs", json=big).json()
    time.sleep(0.3)  # well inside the diagnosis
    busy = client.post("/api/probe/jobs", json={"hidden_size": 8, "seq_len": 10})
    assert busy.status_code == 429 and "another probe is running" in busy.json()["detail"]
    t0 = time.perf_counter()
    cancelled = client.delete(f"/api/probe/jobs/{job['id']}").json()
    assert cancelled["state"] == "cancelled" and time.perf_counter() - t0 < 5
    assert not app.state.probe_lock.locked()
    small = client.post("/api/probe/jobs", json={"hidden_size": 8, "seq_len": 10}).json()
    assert _wait(client, small["id"])["state"] == "done"


def test_a_bad_job_request_is_refused_before_it_starts(client):
    response = client.post("/api/probe/jobs", json={"cell": "lstm", "activation": "relu"})
    assert response.status_code == 422 and "activation" in response.json()["detail"]


def _allowed(schema, cell, activation, init, scale, forget_bias, extra=None):
    c = schema
    field, _ = extra or (None, None)
    return (
        (field is None or cell in c["fields_by_cell"].get(field, c["layer_norm_cells"]))
        and activation in c["activations_by_cell"][cell]
        and init in c["inits_by_cell"][cell]
        and (forget_bias is None or cell in c["forget_bias_cells"])
        and (scale is None or init not in c["inits_without_scale"])
        and (scale is not None or init not in c["scale_required"])
        and (scale is None or scale >= c["scale_minimum"].get(init, 0.0))
    )


def test_the_form_schema_allows_exactly_the_combinations_the_server_accepts(client):
    body = client.get("/api/options").json()
    schema = body["constraints"]
    # one frontier field (or layer norm) set, in a value valid wherever the field applies
    extras = [None, ("layer_norm", True), ("r_min", 0.5), ("r_max", 0.95), ("max_phase", 1.0),
              ("state_size", 4), ("horizon", 50)]  # fmt: skip
    combos = itertools.product(
        body["cells"], body["activations"], body["inits"], [None, 0.5, 3.0], [None, 1.0], extras
    )
    checked = 0
    for cell, activation, init, scale, forget_bias, extra in combos:
        plain = (activation, init, scale, forget_bias) == ("tanh", "default", None, None)
        if extra is not None and not plain:
            continue  # the fields are checked one at a time, on an otherwise valid probe
        fields = {"cell": cell, "activation": activation, "init": init, "init_scale": scale,
                  "forget_bias": forget_bias, "hidden_size": 8, "seq_len": 10}  # fmt: skip
        if extra is not None:
            fields[extra[0]] = extra[1]
        try:
            probe_spec(ProbeRequest(**fields))
            accepted = True
        except (GradtraceError, ValueError):
            accepted = False
        allowed = _allowed(schema, cell, activation, init, scale, forget_bias, extra)
        assert accepted == allowed, fields
        checked += 1
    cells = len(body["cells"])
    assert checked == cells * (len(body["activations"]) * len(body["inits"]) * 3 * 2 + 6)
    work = schema["work"]
    assert work["cost"]["lstm"] == [4, 0, 0] and work["cost"]["gru"] == [3, 0, 0]
    assert work["cost"]["rnn"] == [1, 0, 0] and work["max"] > 0


@pytest.mark.parametrize("size", [(512, 1000, 64, 4)])
def test_the_work_limit_in_the_schema_is_the_one_the_server_applies(client, size):
    hidden, seq_len, batch, layers = size
    work = client.get("/api/options").json()["constraints"]["work"]
    value = batch * seq_len * layers * work["cost"]["lstm"][0] * hidden**2
    request = {"cell": "lstm", "hidden_size": hidden, "seq_len": seq_len, "batch_size": batch,
               "num_layers": layers}  # fmt: skip
    status = client.post("/api/probe/jobs", json=request).status_code
    assert (status == 422) == (value > work["max"])
