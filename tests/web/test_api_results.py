"""The results API reads only what discovery found under the data folder; static files likewise."""

from __future__ import annotations

import pytest


def test_results_lists_each_study_probe_and_monitor_log_with_its_kind(client, data_dir):
    body = client.get("/api/results").json()
    assert body["data_dir"] == str(data_dir.resolve())
    kinds = {r["id"]: r["kind"] for r in body["results"]}
    assert kinds == {"monitor.jsonl": "monitor", "probe.json": "probe", "study": "study"}


def test_a_study_comes_back_as_sections_with_plotly_figures_and_tables(client):
    doc = client.get("/api/results/study").json()
    by_key = {s["key"]: s for s in doc["sections"]}
    assert {"audit", "overview", "tables", "profiles", "losses", "environment"} <= set(by_key)
    figure = by_key["profiles"]["figures"][0]
    assert figure["layout"]["yaxis"]["type"] == "log" and figure["data"][0]["type"] == "scatter"
    assert by_key["audit"]["tables"][0]["rows"][0][-2] == "supported"


def test_a_monitor_log_comes_back_with_its_alerts(client):
    doc = client.get("/api/results/monitor.jsonl").json()
    assert [s["key"] for s in doc["sections"]] == ["norms", "profiles", "alerts"]


def test_each_result_can_be_downloaded_as_a_self_contained_report(client):
    response = client.get("/api/results/probe.json/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("plotly.js v") == 1


@pytest.mark.parametrize(
    "rid",
    [
        "../../../../etc/passwd",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e/%2e%2e/etc/passwd",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "study%2F..%2Fprobe.json",
        "study/results.sqlite",
        "nothing-here.json",
    ],
)
def test_results_outside_the_listing_are_404_whatever_the_encoding(client, rid):
    for suffix in ("", "/report"):
        response = client.get(f"/api/results/{rid}{suffix}")
        assert response.status_code == 404, (rid, suffix)
        assert "root:" not in response.text


def test_a_link_inside_the_data_folder_pointing_out_of_it_is_not_listed(tmp_path):
    from fastapi.testclient import TestClient

    from gradtrace.report.sample import write_sample_probe
    from gradtrace.web.app import create_app

    outside = write_sample_probe(tmp_path / "outside" / "secret.json")
    data = tmp_path / "data"
    data.mkdir()
    (data / "link.json").symlink_to(outside)
    client = TestClient(create_app(data), base_url="http://localhost")
    assert client.get("/api/results").json()["results"] == []
    assert client.get("/api/results/link.json").status_code == 404


@pytest.mark.parametrize("page", ["/", "/simulator", "/probe", "/results"])
def test_every_page_is_served_with_the_three_page_navigation(client, page):
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    for link in ('href="/simulator"', 'href="/probe"', 'href="/results"'):
        assert link in response.text
    assert "http://" not in response.text and "https://" not in response.text


def test_plotly_is_served_from_the_plotly_package(client):
    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200 and b"plotly.js v" in response.content[:200]


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/..%2Fapp.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        "/static/%2Fetc%2Fpasswd",
        "/static/..\\app.py",
        "/static/app.py",
        "/static/",
        "/static/style.css%00.js",
    ],
)
def test_static_serves_only_its_own_files_whatever_the_encoding(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert "import" not in response.text


def test_openapi_schema_is_served_offline_and_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for endpoint in (
        "/api/simulate/decay",
        "/api/simulate/layers",
        "/api/probe",
        "/api/options",
        "/api/results",
        "/api/results/{rid}",
    ):
        assert endpoint in paths
    assert client.get("/docs").status_code == 200


def test_an_oversized_body_is_refused_before_it_is_parsed(client):
    response = client.post(
        "/api/simulate/decay",
        content=b'{"factor": 0.5, "pad": "' + b"x" * 200_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_docs_use_local_swagger_files_when_they_are_installed(monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from gradtrace.web import app as app_module

    (tmp_path / "swagger-ui-bundle.js").write_text("/* swagger */")
    (tmp_path / "swagger-ui.css").write_text("/* css */")
    monkeypatch.setattr(app_module, "_swagger_bundle", lambda: tmp_path)
    client = TestClient(app_module.create_app(tmp_path), base_url="http://localhost")
    html = client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in html and "cdn" not in html
    assert client.get("/docs-static/swagger-ui-bundle.js").text == "/* swagger */"
    assert client.get("/docs-static/..%2Fapp.py").status_code == 404


def test_without_local_swagger_files_docs_fall_back_to_the_cdn(monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from gradtrace.web import app as app_module

    monkeypatch.setattr(app_module, "_swagger_bundle", lambda: None)
    client = TestClient(app_module.create_app(tmp_path), base_url="http://localhost")
    assert "cdn" in client.get("/docs").text
    assert client.get("/openapi.json").status_code == 200


def test_a_broken_result_file_is_one_error_line_not_a_traceback(tmp_path):
    from fastapi.testclient import TestClient

    from gradtrace.web.app import create_app

    (tmp_path / "bad.json").write_text('{"profile": {"layers": [{"name": "x", "g": ["oops"]}]}}')
    client = TestClient(create_app(tmp_path), base_url="http://localhost")
    response = client.get("/api/results/bad.json")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("could not read bad.json: ")
    assert "profile.layers.0.g.0: 'oops' is not allowed; Input should be a valid number" in detail


def test_only_loopback_host_headers_are_answered(tmp_path):
    from fastapi.testclient import TestClient

    from gradtrace.web.app import create_app
    from gradtrace.web.hosts import allowed_hosts

    evil = TestClient(create_app(tmp_path), base_url="http://rebind.example.com")
    response = evil.get("/api/results")
    assert response.status_code == 421
    assert response.json()["detail"].startswith("Host: 'rebind.example.com' is not allowed; ")
    for base in ("http://localhost:8000", "http://127.0.0.1", "http://[::1]:9"):
        assert TestClient(create_app(tmp_path), base_url=base).get("/api/results").is_success
    lan = TestClient(
        create_app(tmp_path, hosts=allowed_hosts("lab.lan")), base_url="http://lab.lan"
    )
    assert lan.get("/api/results").is_success
    assert allowed_hosts("0.0.0.0") is None


def test_malformed_json_is_reported_with_its_position(client):
    response = client.post(
        "/api/simulate/decay",
        content=b'{"factor": 0.9,,}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("body: 'character 15' is not allowed; valid JSON"), detail


def test_booleans_are_not_taken_as_numbers(client):
    response = client.post("/api/simulate/decay", json={"factor": True})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("factor: True is not allowed; must be a number")
