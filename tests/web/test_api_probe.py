"""/api/probe runs the library's probe, bounded by gradtrace.bounds.WEB, one probe at a time."""

from __future__ import annotations

import numpy as np
import pytest

from gradtrace.bounds import WEB


def test_options_offer_the_library_registries_and_the_web_bounds(client):
    from gradtrace.init import INITIALIZERS
    from gradtrace.tasks import TASKS

    body = client.get("/api/options").json()
    assert body["inits"] == list(INITIALIZERS) and body["tasks"] == list(TASKS)
    assert body["bounds"]["hidden_size"] == WEB.hidden_size
    assert body["bounds"]["seq_len"] == WEB.seq_len


def test_a_probe_returns_the_library_s_profile_by_lag_and_its_diagnosis(client):
    from gradtrace.diagnosis import ProbeSpec, probe
    from gradtrace.models import ModelSpec

    request = {"cell": "rnn", "hidden_size": 16, "seq_len": 40, "batch_size": 4, "seed": 3}
    view = client.post("/api/probe", json=request).json()
    expected = probe(ProbeSpec(model=ModelSpec(hidden_size=16), seq_len=40, batch_size=4, seed=3))
    layer = expected.diagnosis.profile.layers[0]
    np.testing.assert_allclose(view["layers"][0]["g"], np.asarray(layer.g)[::-1], rtol=1e-12)
    np.testing.assert_allclose(view["layers"][0]["relative"][:5], np.asarray(layer.relative)[:5])
    assert view["verdict"] == expected.verdict and view["horizon"] == expected.horizon
    assert view["decay_factor"] == pytest.approx(expected.gamma_hat)
    assert len(view["spectra"]) == 1 and len(view["spectra"][0]["eigenvalues"]) == 16


def test_a_small_spectral_init_makes_the_probe_vanish_and_advise(client):
    request = {"init": "spectral", "init_scale": 0.3, "hidden_size": 16, "seq_len": 60}
    view = client.post("/api/probe", json=request).json()
    assert view["verdict"] == "vanishing" and view["horizon"] < 60
    radius = max(abs(complex(*e)) for e in view["spectra"][0]["eigenvalues"])
    assert radius == pytest.approx(0.3, rel=1e-6)
    assert view["recommendations"]


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("hidden_size", 100000, WEB.hidden_size),
        ("num_layers", 5, WEB.num_layers),
        ("seq_len", 2001, WEB.seq_len),
        ("batch_size", 257, WEB.batch_size),
    ],
)
def test_sizes_over_the_web_bounds_get_a_422_naming_the_limit(client, field, value, limit):
    response = client.post("/api/probe", json={field: value})
    assert response.status_code == 422
    assert response.json() == {"detail": f"{field}: {value} is not allowed; must be <= {limit}"}


def test_a_request_within_each_bound_but_too_much_work_in_total_is_refused(client):
    request = {"cell": "lstm", "hidden_size": 512, "seq_len": 2000, "batch_size": 256}
    detail = client.post("/api/probe", json=request).json()["detail"]
    assert detail.startswith("work: 536870912000 is not allowed; must be <= 2e+10 in the web lab")
    assert "work = T*L*H*(B*(a*H + b*N) + c*H) and a, b, c = 4, 0, 0 for cell lstm" in detail
    assert "lower one of them" in detail


@pytest.mark.parametrize(
    ("payload", "start"),
    [
        ({"cell": "lstm", "activation": "relu"}, "activation: 'relu' is not allowed"),
        ({"cell": "rnn", "forget_bias": 1.0}, "forget_bias: 1.0 is not allowed"),
        ({"init": "magic"}, "init: 'magic' is not allowed"),
        ({"task": "chess"}, "task: 'chess' is not allowed"),
        ({"cell": "transformer"}, "cell: 'transformer' is not allowed"),
        ({"pickle": "gASV"}, "pickle: 'gASV' is not allowed; unknown field"),
        ({"seed": -1}, "seed: -1 is not allowed; must be >= 0"),
    ],
)
def test_bad_probe_settings_get_one_line_naming_the_field(client, payload, start):
    response = client.post("/api/probe", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(start)


def test_a_second_probe_while_one_runs_gets_429_after_a_short_wait(app, client):
    with app.state.probe_lock:
        response = client.post("/api/probe", json={"hidden_size": 4, "seq_len": 5})
    assert response.status_code == 429
    assert "another probe is running" in response.json()["detail"]
