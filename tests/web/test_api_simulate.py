"""The simulator API returns gradtrace.simulate's numbers and refuses out-of-bounds input."""

from __future__ import annotations

import pytest

from gradtrace.simulate.decay import magnitude, steps_until
from gradtrace.simulate.layers import layer_gradients


@pytest.mark.parametrize(("factor", "steps"), [(0.9, 50), (0.3, 50), (1.1, 30), (0.5, 2000)])
def test_decay_curve_is_factor_to_the_k_printed_like_the_cli(client, factor, steps):
    body = client.post("/api/simulate/decay", json={"factor": factor, "steps": steps}).json()
    assert len(body["curve"]) == steps + 1
    for point in body["curve"][:: max(1, steps // 10)]:
        value, log10, text = magnitude(factor, point["k"])
        assert (point["value"], point["log10"], point["text"]) == (value, log10, text)
    assert body["until"] == steps_until(factor, 1e-3).to_dict()


def test_decay_with_sigmoid_multiplies_the_factor_by_its_peak_derivative_one_quarter(client):
    body = client.post(
        "/api/simulate/decay", json={"factor": 0.8, "steps": 10, "activation": "sigmoid"}
    ).json()
    assert body["peak_derivative"] == 0.25 and body["effective_factor"] == 0.2
    assert body["curve"][10]["text"] == magnitude(0.2, 10)[2] == "1.02e-7"


def test_decay_table_has_the_classic_factors_and_the_current_one(client):
    body = client.post("/api/simulate/decay", json={"factor": 0.65, "steps": 5}).json()
    rows = {r["factor"]: r["text"] for r in body["table"]["results"]["rows"]}
    assert list(rows) == [0.9, 0.7, 0.65, 0.5, 0.3]
    assert rows[0.9] == ["0.349", "0.122", "0.00515"]


def test_layers_endpoint_is_the_layer_simulator(client):
    body = client.post("/api/simulate/layers", json={"weight": 0.5, "layers": 5}).json()
    assert body["results"] == layer_gradients(0.5, 5).to_dict()["results"]
    assert body["results"]["ratio_text"] == "0.0625"


@pytest.mark.parametrize(
    ("url", "payload", "detail"),
    [
        ("decay", {"steps": 5000}, "steps: 5000 is not allowed; must be <= 2000"),
        ("decay", {"factor": 0}, "factor: 0 is not allowed; must be > 0"),
        ("decay", {"factor": 11}, "factor: 11 is not allowed; must be <= 10"),
        ("decay", {"factor": "big"}, "factor: 'big' is not allowed; must be a number"),
        ("decay", {"activation": "swish"}, "activation: 'swish' is not allowed; choose one of"),
        ("decay", {"extra": 1}, "extra: 1 is not allowed; unknown field"),
        ("layers", {"layers": 1001}, "layers: 1001 is not allowed; must be <= 1000"),
        ("layers", {"layers": 2.5}, "layers: 2.5 is not allowed; must be an integer"),
    ],
)
def test_bad_simulator_input_gets_a_422_with_one_line_naming_the_limit(
    client, url, payload, detail
):
    response = client.post(f"/api/simulate/{url}", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)
    assert "\n" not in response.json()["detail"]


def test_a_body_that_is_not_json_is_a_422_not_a_crash(client):
    response = client.post(
        "/api/simulate/decay", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and isinstance(response.json()["detail"], str)
