"""In Chromium: the frontier cells in the probe form, and the eigenvalue view: an LRU's lambdas
inside its initialization ring and the unit circle, axes equal, nothing overlapping."""

from __future__ import annotations

import json
import math

import pytest
from tests.web.conftest import serve
from tests.web.test_browser_lab import OVERLAPS

from gradtrace.report.sample import write_samples

pytestmark = pytest.mark.browser

EIGEN = "(id) => document.getElementById(id).data"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = write_samples(tmp_path_factory.mktemp("lab-eigen"))
    with serve(folder) as url:
        yield url


def _open_form(page, url):
    page.goto(url + "/probe")
    page.wait_for_selector("#init option", state="attached")
    page.fill("#hidden_size", "8")
    page.fill("#seq_len", "20")
    page.fill("#batch_size", "2")


def test_the_form_offers_each_cell_s_own_fields_only(lab, page):
    _open_form(page, lab)
    shown = "Array.from(document.querySelectorAll('#cell-fields [data-field]'))" \
            ".filter(d => !d.hidden).map(d => d.dataset.field)"  # fmt: skip
    expected = {"lstm": [], "lru": ["r_min", "r_max", "max_phase", "state_size"],
                "selective_ssm": ["state_size"], "indrnn": ["horizon"], "mingru": []}  # fmt: skip
    for cell, fields in expected.items():
        page.click(f"#cell-seg button[data-value={cell}]")
        assert page.evaluate(shown) == fields, cell
        assert page.is_hidden("#cell-fields") == (not fields)
        assert page.is_disabled("#layer_norm") == (cell != "lstm")
    page.click("#cell-seg button[data-value=exprnn]")
    enabled = "Array.from(document.querySelectorAll('#activation option'))" \
              ".filter(o => !o.disabled).map(o => o.value)"  # fmt: skip
    assert page.evaluate(enabled) == ["tanh", "modrelu"] and page.is_enabled("#activation")
    assert page.input_value("#activation") == "modrelu"  # the cell's own, as in its paper
    page.click("#cell-seg button[data-value=lru]")
    assert page.is_disabled("#activation") and page.is_disabled("#init")
    page.fill("#r_min", "0.95")
    page.fill("#r_max", "0.5")
    assert page.is_disabled("#run-probe") and "needs r_min < r_max" in page.inner_text("#work-note")
    page.fill("#r_max", "")  # the default r_max = 0.999 lies above 0.95
    assert page.is_enabled("#run-probe")


def test_an_lru_probe_draws_its_lambdas_inside_the_ring_and_the_unit_circle(lab, page, shot):
    _open_form(page, lab)
    page.click("#cell-seg button[data-value=lru]")
    page.fill("#r_min", "0.5")
    page.fill("#r_max", "0.8")
    page.fill("#state_size", "24")
    page.click("#run-probe")
    page.wait_for_selector("body[data-probes='1'][data-eigen-plots='1']", timeout=20000)
    assert page.get_attribute("#eigen-0", "data-layer") == "layer 1"
    traces = page.evaluate(EIGEN, "eigen-0")
    names = [t["name"] for t in traces]
    assert names[:2] == ["unit circle", "init ring 0.5 ≤ |λ| ≤ 0.8"]
    (lam,) = [t for t in traces if t.get("meta") == "lru"]
    radii = [math.hypot(x, y) for x, y in zip(lam["x"], lam["y"], strict=True)]
    assert len(radii) == 24 and all(0.5 - 1e-9 <= r <= 0.8 + 1e-9 for r in radii)
    assert max(radii) < 1  # inside the unit circle
    title = page.evaluate("document.querySelector('#eigen-0 .gtitle').textContent")
    assert title == "layer 1: λ of the LRU (exact)"
    # equal axes: one unit of Re spans as many pixels as one unit of Im
    scale = """(id) => { const l = document.getElementById(id)._fullLayout;
        return [l.xaxis._length / (l.xaxis.range[1] - l.xaxis.range[0]),
                l.yaxis._length / (l.yaxis.range[1] - l.yaxis.range[0])]; }"""
    sx, sy = page.evaluate(scale, "eigen-0")
    assert sx == pytest.approx(sy, rel=1e-3)
    labels = page.evaluate("[...document.querySelectorAll('#eigen-0 .xtitle, #eigen-0 .ytitle')]"
                           ".map(t => t.textContent)")  # fmt: skip
    assert labels == ["Re λ", "Im λ"]
    assert page.inner_text("#health-table").startswith("No unit-health measurements")
    shot(page, "probe-lru-eigenvalues")
    # the new fields live in the address and the export, and come back on reload
    saved = json.loads(page.evaluate("decodeURIComponent(location.hash.slice(8))"))
    assert saved[0]["cell"] == "lru" and saved[0]["r_min"] == 0.5 and saved[0]["state_size"] == 24
    with page.expect_download() as info:
        page.click("#export-runs")
    with open(info.value.path()) as f:
        (probe,) = json.load(f)["probes"]
    assert probe["request"]["r_max"] == 0.8
    assert probe["result"]["spectra"][0]["ring"]["r_min"] == 0.5
    page.reload()
    page.wait_for_selector("body[data-probes='1'][data-eigen-plots='1']", timeout=20000)
    again = [t for t in page.evaluate(EIGEN, "eigen-0") if t.get("meta") == "lru"]
    assert again[0]["x"] == lam["x"]


def test_no_title_tick_or_legend_overlaps_in_the_eigenvalue_views(lab, page):
    probes = [
        {"cell": "lstm", "hidden_size": 8, "num_layers": 2, "seq_len": 20, "batch_size": 2},
        {"cell": "lru", "hidden_size": 8, "num_layers": 2, "seq_len": 20, "batch_size": 2,
         "r_min": 0.2, "r_max": 0.6, "max_phase": 3.0},
        {"cell": "indrnn", "hidden_size": 8, "seq_len": 20, "batch_size": 2},
    ]  # fmt: skip
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(lab + "/probe#probes=" + json.dumps(probes))
    page.wait_for_selector("body[data-probes='3']", timeout=30000)
    labels = page.locator("#runs li .label").all_inner_texts()  # shared requests leave fields out
    assert labels[2] == "#3 IndRNN H8 T20" and not any("undefined" in t for t in labels)
    boxes = """() => [...document.querySelectorAll('#eigen-plots .js-plotly-plot')].map(p => {
        const b = p.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; })"""
    checked = 0
    for run, plots in ((1, 2), (2, 2), (3, 1)):
        page.click(f"#runs li[data-run='{run}']")
        page.wait_for_function(f"Number(document.body.dataset.eigenPlots) === {plots}")
        for width in (1280, 820):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)  # Plotly redraws responsive plots on resize
            report = page.evaluate(OVERLAPS, page.query_selector("#eigen-plots"))
            assert report["found"] == [] and report["plots"] == plots, (run, width)
            found = page.evaluate(boxes)
            for i, a in enumerate(found):  # the views never cover one another
                for b in found[i + 1 :]:
                    apart = a[2] <= b[0] + 1 or b[2] <= a[0] + 1
                    assert apart or a[3] <= b[1] + 1 or b[3] <= a[1] + 1
            checked += report["plots"]
        page.set_viewport_size({"width": 1280, "height": 900})
    assert checked == 10
