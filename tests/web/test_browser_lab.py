"""In Chromium: the live view grows while training writes, the overlay draws chosen results on
one chart, probes live in the address and export as JSON, a long probe can be cancelled, the
form offers only valid probes, and no axis title overlaps tick labels or a legend."""

from __future__ import annotations

import json

import pytest
import torch
from tests.web.conftest import serve

from gradtrace.monitor import JsonlSink, Monitor
from gradtrace.report.sample import write_samples

pytestmark = pytest.mark.browser


class Trainer:
    """A tiny RNN trained step by step with a monitor writing `path` (flushed every step)."""

    def __init__(self, path, *, run_id, seed=0):
        torch.manual_seed(seed)
        self.model = torch.nn.RNN(2, 4, batch_first=True)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05)
        sinks = [JsonlSink(path, run_id=run_id)]
        self.monitor = Monitor(self.model, self.opt, sinks=sinks, profile_every=0, flush_every=1,
                               warn=False)  # fmt: skip

    def steps(self, n):
        for _ in range(n):
            self.opt.zero_grad()
            out, _ = self.model(torch.randn(3, 6, 2))
            loss = out.pow(2).mean()
            loss.backward()
            self.monitor.log(loss=loss)
            self.opt.step()
        return self


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A data folder with the samples and two finished monitor logs, served for real."""
    folder = write_samples(tmp_path_factory.mktemp("lab-live"))
    Trainer(folder / "run-a.jsonl", run_id="a").steps(5).monitor.close()
    Trainer(folder / "run-b.jsonl", run_id="b", seed=1).steps(8).monitor.close()
    Trainer(folder / "two-runs.jsonl", run_id="early").steps(4).monitor.close()
    Trainer(folder / "two-runs.jsonl", run_id="late").steps(2).monitor.close()
    with serve(folder) as url:
        yield url, folder


def _steps_shown(page):
    return int(page.evaluate("Number(document.body.dataset.liveSteps || -1)"))


def test_the_live_view_grows_while_training_writes_without_a_reload(lab, page, shot):
    url, folder = lab
    trainer = Trainer(folder / "growing.jsonl", run_id="live").steps(3)
    page.goto(url + "/live?id=growing.jsonl&interval=150")
    page.wait_for_function("Number(document.body.dataset.liveSteps) === 3")
    page.evaluate("window.__same_page = true")
    trainer.steps(4)
    page.wait_for_function("Number(document.body.dataset.liveSteps) === 7", timeout=10000)
    assert page.evaluate("window.__same_page === true")  # updated in place
    x = page.evaluate("document.getElementById('live-norm').data[0].x")
    assert x == list(range(7))
    loss = page.evaluate("document.getElementById('live-loss').data[0].y")
    assert len(loss) == 7 and all(v > 0 for v in loss)
    (folder / "growing.jsonl").unlink()  # deleted mid-run: recreated, the gap is shown
    trainer.steps(2)
    page.wait_for_selector("#live-notes .gap", timeout=10000)
    assert "up to 7 records (steps 0-6) may be missing" in page.inner_text("#live-notes")
    page.wait_for_function("Number(document.body.dataset.liveSteps) === 9")  # kept, then 2 more
    assert page.evaluate("document.getElementById('live-norm').data[0].x") == list(range(9))
    trainer.monitor.close()
    shot(page, "live")


def test_the_live_view_waits_for_a_log_not_written_yet_with_one_note(lab, page):
    url, folder = lab
    page.goto(url + "/live?id=later.jsonl&interval=150")
    page.wait_for_function("Number(document.body.dataset.livePolls || 0) >= 0")
    page.wait_for_selector("#live-waiting")
    page.wait_for_timeout(600)  # several polls: still one note
    assert page.locator("#live-notes .error").count() == 1
    assert "waiting for later.jsonl to appear" in page.inner_text("#live-waiting")
    trainer = Trainer(folder / "later.jsonl", run_id="later").steps(2)
    page.wait_for_function("Number(document.body.dataset.liveSteps) === 2", timeout=10000)
    assert page.locator("#live-waiting").count() == 0
    trainer.monitor.close()


def test_the_results_page_overlays_the_ticked_results_on_one_chart(lab, page, shot):
    url, _ = lab
    page.goto(url + "/results")
    page.wait_for_selector("#result-list a[data-id='run-a.jsonl']")
    page.check("#result-list input.pick[data-id='run-a.jsonl']")
    page.check("#result-list input.pick[data-id='run-b.jsonl']")
    page.click("#compare-run")
    page.wait_for_function("Number(document.body.dataset.overlay) > 0")
    page.select_option("#compare-chart", "global-norm")
    names = page.evaluate("document.getElementById('compare-plot').data.map(t => t.name)")
    assert any(n.startswith("run-a.jsonl · ") for n in names)
    assert any(n.startswith("run-b.jsonl · ") for n in names)
    lengths = page.evaluate("document.getElementById('compare-plot').data.map(t => t.x.length)")
    assert sorted(set(lengths)) == [5, 8]
    assert "compare=run-a.jsonl%2Crun-b.jsonl" in page.url and "chart=global-norm" in page.url
    shared = page.url
    page.goto(shared)  # the overlay is in the address too
    page.wait_for_function("Number(document.body.dataset.overlay) > 0")
    assert page.input_value("#compare-chart") == "global-norm"
    shot(page, "results-overlay")


def test_a_log_with_two_runs_shows_the_latest_and_opens_the_other_on_its_own(lab, page):
    url, _ = lab
    page.goto(url + "/results?id=two-runs.jsonl")
    page.wait_for_selector("#result-view[data-loaded='two-runs.jsonl']")

    def logged():
        facts = page.locator("#section-norms .fact")
        return dict(zip(facts.locator(".label").all_inner_texts(),
                        facts.locator(".value").all_inner_texts(), strict=True))  # fmt: skip

    assert logged()["steps logged"] == "2"
    assert page.locator("#section-runs a.run-link").all_inner_texts() == ["early", "late"]
    page.click("#section-runs a.run-link:text('early')")
    page.wait_for_selector("#result-view[data-run='early'][data-loaded='two-runs.jsonl']")
    assert logged()["steps logged"] == "4" and "run=early" in page.url


def test_probes_live_in_the_address_export_as_json_and_come_back_on_reload(lab, page, tmp_path):
    url, _ = lab
    page.goto(url + "/probe")
    page.wait_for_selector("#init option", state="attached")
    page.fill("#hidden_size", "8")
    page.fill("#seq_len", "20")
    page.click("#run-probe")
    page.wait_for_selector("body[data-probes='1']", timeout=20000)
    assert "#probes=" in page.url
    with page.expect_download() as info:
        page.click("#export-runs")
    with open(info.value.path()) as f:
        exported = json.load(f)
    (probe,) = exported["probes"]
    assert probe["request"]["hidden_size"] == 8 and probe["request"]["seq_len"] == 20
    assert len(probe["result"]["layers"][0]["g"]) == 20
    g = probe["result"]["layers"][0]["g"]
    page.reload()
    page.wait_for_selector("body[data-probes='1']", timeout=20000)
    assert page.evaluate("document.getElementById('profile-plot').data[0].y") == g


def test_a_long_probe_shows_progress_and_is_cancelled_from_the_page(lab, page):
    url, _ = lab
    page.goto(url + "/probe")
    page.wait_for_selector("#init option", state="attached")
    page.click("#cell-seg button[data-value=lstm]")
    page.fill("#hidden_size", "128")
    page.fill("#seq_len", "2000")
    page.fill("#batch_size", "8")
    page.click("#run-probe")
    page.wait_for_selector("#probe-progress-row:not([hidden])")
    page.wait_for_function("document.getElementById('probe-progress').value > 0")
    page.click("#cancel-probe")
    error = page.wait_for_selector("#probe-error .error", timeout=10000)
    assert error.inner_text().startswith("probe cancelled after ")
    assert page.is_hidden("#probe-progress-row") and page.is_enabled("#run-probe")


def test_the_form_offers_only_combinations_the_server_accepts(lab, page):
    url, _ = lab
    page.goto(url + "/probe")
    page.wait_for_selector("#init option", state="attached")
    page.click("#cell-seg button[data-value=lstm]")
    assert page.is_disabled("#activation") and page.input_value("#activation") == "tanh"
    options = "Array.from(document.querySelectorAll('#init option'))"
    disabled = page.evaluate(options + ".filter(o => o.disabled).map(o => o.value)")
    assert disabled == ["identity"]
    page.click("#cell-seg button[data-value=rnn]")
    assert page.is_disabled("#forget_bias")
    page.select_option("#init", "default")
    assert page.is_disabled("#init_scale")  # the default init takes no scale
    page.fill("#hidden_size", "512")
    page.fill("#seq_len", "2000")
    page.fill("#batch_size", "64")
    assert page.is_disabled("#run-probe")
    assert "Too large for the lab" in page.inner_text("#work-note")
    page.fill("#batch_size", "1")
    page.fill("#hidden_size", "16")
    assert page.is_enabled("#run-probe")


OVERLAPS = """(root) => {
  const box = (e) => e.getBoundingClientRect();
  const hit = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right - 1 && b.left < a.right - 1
                        && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const found = [];
  root.querySelectorAll('.js-plotly-plot').forEach((plot) => {
    const titles = [...plot.querySelectorAll('.xtitle, .ytitle, .y2title, .gtitle')];
    const ticks = [...plot.querySelectorAll('.xtick text, .ytick text, .y2tick text')];
    const legend = [...plot.querySelectorAll('.legend .bg')];
    for (const t of titles) {
      for (const o of [...ticks, ...legend]) {
        if (hit(box(t), box(o))) {
          found.push(plot.id + ': ' + t.textContent + ' hits ' + (o.textContent || 'legend'));
        }
      }
    }
    for (const l of legend) for (const k of ticks) {
      if (hit(box(l), box(k))) found.push(plot.id + ': legend hits tick "' + k.textContent + '"');
    }
  });
  return {plots: root.querySelectorAll('.js-plotly-plot').length, found};
}"""


def test_no_axis_title_overlaps_tick_labels_or_a_legend_in_the_lab(lab, page):
    url, _ = lab
    checked = 0
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(url + "/probe#probes=" + json.dumps([{"cell": "lstm", "init": "default",
        "hidden_size": 8, "num_layers": 2, "seq_len": 30, "batch_size": 4, "seed": 0,
        "activation": "tanh", "init_scale": None, "forget_bias": None, "layer_norm": False,
        "residual": False, "task": None}]))  # fmt: skip
    page.wait_for_selector("body[data-probes='1']", timeout=20000)
    overlay = "/results?compare=run-a.jsonl,run-b.jsonl,probe.json&chart=global-norm"
    for where in ("/probe", "/simulator", "/live?id=run-b.jsonl", "/results?id=study", overlay):
        if where != "/probe":
            page.goto(url + where)
        if where.startswith("/live"):
            page.wait_for_function("Number(document.body.dataset.liveSteps) === 8")
        if where.startswith("/results?id"):
            page.wait_for_selector("#result-view[data-loaded=study]")
        if where.startswith("/results?compare"):
            page.wait_for_function("Number(document.body.dataset.overlay) > 0")
        page.wait_for_selector(".js-plotly-plot")
        for width in (1280, 820):  # wide, and a narrow window where the layout stacks
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)  # Plotly redraws responsive plots on resize
            report = page.evaluate(OVERLAPS, page.query_selector("body"))
            assert report["found"] == [], (where, width)
            checked += report["plots"]
        page.set_viewport_size({"width": 1280, "height": 900})
    assert checked >= 18
