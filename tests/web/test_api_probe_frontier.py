"""The frontier cells in the probe lab: each one probes, its settings are validated in one line,
the LRU's lambdas come with their initialization ring, and layers are named in words."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest
import torch

from gradtrace.web.routes_probe import probe_view
from gradtrace.web.schemas import STATE_DEFAULT

FRONTIER = ["indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"]
SMALL = {"hidden_size": 8, "seq_len": 20, "batch_size": 2, "seed": 1}


@pytest.mark.parametrize("cell", FRONTIER)
def test_every_frontier_cell_probes_to_the_library_s_profile_with_layers_named_in_words(
    client, cell
):
    from gradtrace.diagnosis import ProbeSpec, probe
    from gradtrace.models import ModelSpec

    response = client.post("/api/probe", json={"cell": cell, "num_layers": 2, **SMALL})
    assert response.status_code == 200, response.json()
    view = response.json()
    spec = ProbeSpec(model=ModelSpec(cell=cell, hidden_size=8, num_layers=2), seq_len=20,
                     batch_size=2, seed=1)  # fmt: skip
    expected = probe(spec).diagnosis.profile.layers
    assert [layer["name"] for layer in view["layers"]] == ["layer 1", "layer 2"]
    for got, want in zip(view["layers"], expected, strict=True):
        np.testing.assert_allclose(got["g"], np.asarray(want.g)[::-1], rtol=1e-12)
    assert all(s["layer"] in ("layer 1", "layer 2") for s in view["spectra"])
    assert all(not key.split(": ")[-1].startswith("layers.") for key in view["not_computed"])


def test_an_exprnn_probe_without_an_activation_is_the_modrelu_one(client):
    def first_layer(**extra):
        body = {"cell": "exprnn", **SMALL, **extra}
        return client.post("/api/probe", json=body).json()["layers"][0]["g"]

    default = first_layer()
    assert default == first_layer(activation="modrelu") != first_layer(activation="tanh")


def test_loop_backend_layers_are_named_in_words_too(client):
    request = {"cell": "rnn", "layer_norm": True, "num_layers": 2, **SMALL}  # the step loop
    view = client.post("/api/probe", json=request).json()
    assert [layer["name"] for layer in view["layers"]] == ["layer 1", "layer 2"]
    assert [s["name"] for s in view["spectra"]] == ["layer 1", "layer 2"]


def test_the_new_fields_are_in_the_api_schema_with_their_meaning(client):
    fields = client.get("/openapi.json").json()["components"]["schemas"]["ProbeRequest"]
    props = fields["properties"]
    assert {"r_min", "r_max", "max_phase", "state_size", "horizon"} <= set(props)
    assert "LRU" in props["r_min"]["description"] and "IndRNN" in props["horizon"]["description"]
    activations = next(a["enum"] for a in props["activation"]["anyOf"] if "enum" in a)
    assert "modrelu" in activations and "lru" in props["cell"]["enum"]
    assert "modrelu for exprnn" in props["activation"]["description"]


def test_the_lru_view_carries_its_exact_lambdas_inside_the_chosen_ring(client):
    from gradtrace.models import ModelSpec, build_model
    from gradtrace.models.frontier import diagonal_spectra

    ring = {"r_min": 0.5, "r_max": 0.8, "max_phase": math.pi}
    view = client.post("/api/probe", json={"cell": "lru", "state_size": 12, **ring, **SMALL})
    (lam,) = [s for s in view.json()["spectra"] if s["kind"] == "lru"]
    assert lam["ring"] == pytest.approx(ring) and lam["layer"] == "layer 1"
    assert lam["name"] == "layer 1 lambda" and len(lam["eigenvalues"]) == 12
    with torch.random.fork_rng(devices=[]):  # the probe's own build: same seed, same spec
        torch.manual_seed(1)
        model = build_model(ModelSpec(cell="lru", hidden_size=8, state_size=12, **ring))
    (exact,) = diagonal_spectra(model.to(torch.float64))
    np.testing.assert_allclose(lam["eigenvalues"], exact.eigenvalues, rtol=0, atol=1e-12)
    values = [complex(*e) for e in lam["eigenvalues"]]
    assert all(0.5 <= abs(v) <= 0.8 for v in values)
    assert all(0 <= cmath.phase(v) % (2 * math.pi) <= math.pi for v in values)
    assert lam["spectral_radius"] == pytest.approx(max(abs(v) for v in values))


def test_the_default_lru_ring_is_the_paper_s():
    lru = {"name": "layers.0", "kind": "lru", "gate": "lambda", "eigenvalues": [[0.95, 0.0]]}
    cell = {"name": "layers.1.cell", "kind": "cell", "gate": "J_t", "eigenvalues": [[1.0, 0.0]]}
    data = {
        "spec": {"model": {"cell": "lru", "hidden_size": 4}},
        "diagnosis": {
            "profile": {"layers": []},
            "spectra": [lru, cell],
            "not_computed": {"lyapunov: layers.0": "why", "spectra: layers.2": "because"},
        },
    }
    view = probe_view(data)
    lru, cell = view["spectra"]
    assert lru["ring"] == pytest.approx({"r_min": 0.9, "r_max": 0.999, "max_phase": 2 * math.pi})
    assert cell["ring"] is None and cell["name"] == "layer 2 J_t" and cell["layer"] == "layer 2"
    assert view["not_computed"] == {"lyapunov: layer 1": "why", "spectra: layer 3": "because"}


RADIUS = "a radius in [0, 1) (|lambda| = 1 or more is unstable)"


def test_advice_names_layers_in_words_but_keeps_parameter_paths():
    rec = {"code": "x", "finding": "forget gate mean 0.73 (layers.0.l0); also layers.1",
           "advice": "give layers.0.theta_log a smaller learning rate (layers.2.cell)"}  # fmt: skip
    (shown,) = probe_view({"diagnosis": {"profile": {"layers": []}, "recommendations": [rec]}})[
        "recommendations"
    ]
    assert shown["finding"] == "forget gate mean 0.73 (layer 1); also layer 2"
    assert shown["advice"] == "give layers.0.theta_log a smaller learning rate (layer 3)"
    assert shown["code"] == "x"


def test_each_layer_carries_diagnose_s_sensitivity_ratio_and_flag():
    g = [1.0, 0.9, 0.8]
    profile = {"layers": [{"name": n, "kind": "marked", "layer": i, "direction": 0, "g": g}
                          for i, n in enumerate(["layers.0", "layers.1"])]}  # fmt: skip
    sensitivity = [{"name": "layers.0", "ratio": 31.4}, {"name": "layers.1", "ratio": 2.0}]
    data = {"diagnosis": {"profile": profile, "sensitivity": sensitivity,
                          "sensitivity_threshold": 10.0}}  # fmt: skip
    first, second = probe_view(data)["layers"]
    assert (first["name"], first["sensitivity"], first["over_sensitive"]) == ("layer 1", 31.4, True)
    assert (second["sensitivity"], second["over_sensitive"]) == (2.0, False)
    plain = probe_view({"diagnosis": {"profile": profile}})["layers"][0]  # not measured
    assert plain["sensitivity"] is None and plain["over_sensitive"] is None


@pytest.mark.parametrize(
    ("payload", "name", "allowed"),
    [
        ({"cell": "lru", "r_min": 0.9, "r_max": 0.5}, "r_max", "a radius above r_min = 0.9"),
        ({"cell": "lru", "r_min": 0.9995}, "r_min", "a radius below r_max = 0.999"),
        ({"cell": "lru", "r_max": 1.0}, "r_max", RADIUS),
        ({"cell": "lru", "r_min": -0.1}, "r_min", RADIUS),
        ({"cell": "lru", "max_phase": 7}, "max_phase", f"must be <= {2 * math.pi}"),
        ({"cell": "lstm", "r_min": 0.5}, "r_min", "r_min is for cell lru; leave it unset"),
        ({"cell": "mingru", "state_size": 4}, "state_size",
         "state_size is for cell lru or selective_ssm; leave it unset"),
        ({"cell": "lru", "horizon": 10}, "horizon", "horizon is for cell indrnn; leave it unset"),
        ({"cell": "indrnn", "horizon": 0}, "horizon", "must be >= 1"),
        ({"cell": "lru", "layer_norm": True}, "layer_norm",
         "layer_norm is for cells rnn, lstm, gru (lru has its own form)"),
        ({"cell": "exprnn", "activation": "relu"}, "activation",
         "exprnn takes modrelu (the paper's) or tanh"),
        ({"cell": "rnn", "activation": "modrelu"}, "activation", "modrelu is for cell exprnn"),
        ({"cell": "selective_ssm", "init": "orthogonal"}, "init",
         "selective_ssm has its paper's own initialization; use default"),
    ],
)  # fmt: skip
def test_bad_frontier_settings_get_one_line_naming_the_field(client, payload, name, allowed):
    from gradtrace.errors import InvalidValue

    response = client.post("/api/probe", json=payload)
    assert response.status_code == 422
    assert response.json() == {"detail": str(InvalidValue(name, payload[name], allowed))}


@pytest.mark.parametrize(
    ("cell", "size"),
    [("selective_ssm", (64, 1000, 16, 1, 64)), ("selective_ssm", (64, 1000, 16, 1, 16)),
     ("exprnn", (512, 100, 1, 1, None)), ("exprnn", (128, 500, 64, 1, None)),
     ("lru", (512, 2000, 64, 1, None)), ("mingru", (256, 2000, 16, 2, None))],
)  # fmt: skip
def test_the_frontier_work_limit_in_the_schema_is_the_one_the_server_applies(client, cell, size):
    hidden, seq_len, batch, layers, state = size
    work = client.get("/api/options").json()["constraints"]["work"]
    a, b, c = work["cost"][cell]
    n = state or work["state_default"].get(cell, hidden) if b else 0
    value = seq_len * layers * hidden * (batch * (a * hidden + b * n) + c * hidden)
    request = {"cell": cell, "hidden_size": hidden, "seq_len": seq_len, "batch_size": batch,
               "num_layers": layers, "state_size": state}  # fmt: skip
    response = client.post("/api/probe/jobs", json=request)
    assert (response.status_code == 422) == (value > work["max"]), response.json()
    if response.status_code == 422:
        assert response.json()["detail"].startswith(f"work: {int(value)} is not allowed")
    else:
        client.delete(f"/api/probe/jobs/{response.json()['id']}")


def test_the_schema_s_state_default_is_the_selective_ssm_s():
    from gradtrace.models.frontier.selective_ssm import DEFAULT_STATE

    assert STATE_DEFAULT == {"selective_ssm": DEFAULT_STATE}


def test_options_offer_every_cell_with_its_fields_and_label(client):
    from gradtrace.models.spec import FRONTIER_FIELDS, FRONTIER_LABELS, ModelSpec

    body = client.get("/api/options").json()
    assert body["cells"] == list(ModelSpec.model_fields["cell"].annotation.__args__)
    assert {c: body["cell_labels"][c] for c in FRONTIER} == FRONTIER_LABELS
    fields = body["constraints"]["fields_by_cell"]
    assert fields == {f: list(cells) for f, cells in FRONTIER_FIELDS.items()}
    assert body["constraints"]["inits_by_cell"]["lru"] == ["default"]
    assert body["constraints"]["activations_by_cell"]["exprnn"] == ["modrelu", "tanh"]
