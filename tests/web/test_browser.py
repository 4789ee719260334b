"""End to end in headless Chromium against a real uvicorn server: every page works as it should."""

from __future__ import annotations

import math

import pytest

from gradtrace.simulate.decay import magnitude, steps_until
from gradtrace.simulate.formatting import format_log10, format_value
from gradtrace.simulate.layers import layer_gradients
from gradtrace.web.routes_simulate import peak_derivative

pytestmark = pytest.mark.browser

EDGE_VALUES = [
    0.9**10,
    0.9**50,
    0.3**50,
    0.5**20,
    1.0,
    0.0,
    -0.5,
    999.4,
    999.5,
    999.6,
    99.95,
    9.995,
    0.00099949,
    0.0009995,
    0.00012345,
    1e-5,
    123.456,
    1234.5,
    1.005,
    2.675,
    0.125,
    5e-324,
    1e308,
    float("inf"),
    float("-inf"),
]
GRID = [
    (f, k)
    for f in (0.05, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0, 1.01, 1.1, 1.5)
    for k in (0, 1, 7, 10, 20, 50, 199, 2000)
]


def plot_y(page, target: str) -> list:
    return page.evaluate(f"document.getElementById('{target}').data[0].y")


def move(page, selector: str, value: str) -> None:
    """Set a slider or select as a user would and wait for the page's next redraw."""
    done = int(page.evaluate("Number(document.body.dataset.updates || 0)"))
    if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
        page.select_option(selector, value)
    else:
        page.locator(selector).fill(value)
    page.wait_for_function(f"Number(document.body.dataset.updates) > {done}")


def test_the_browser_port_prints_every_number_exactly_like_gradtrace_simulate(page_at):
    page = page_at("/simulator")
    js = page.evaluate(
        """([values, grid]) => ({
            values: values.map(v => GTSim.formatValue(
                v === "inf" ? Infinity : v === "-inf" ? -Infinity : v)),
            logs: [-400.5, -330.2, 310.7, -3.5, 0.0].map(GTSim.formatLog10),
            magnitudes: grid.map(([f, k]) => GTSim.magnitude(f, k)[2]),
            until: grid.map(([f]) => GTSim.stepsUntil(f, 1e-3).steps),
            layers: grid.filter(([f, k]) => k >= 1 && k <= 1000)
                        .map(([f, k]) => GTSim.layerGradients(f, k, 10)),
            peaks: GTSim.PEAK_DERIVATIVE,
        })""",
        [
            [v if abs(v) != float("inf") else ("inf" if v > 0 else "-inf") for v in EDGE_VALUES],
            GRID,
        ],
    )
    assert js["values"] == [format_value(v) for v in EDGE_VALUES]
    assert js["logs"] == [format_log10(v) for v in (-400.5, -330.2, 310.7, -3.5, 0.0)]
    assert js["magnitudes"] == [magnitude(f, k)[2] for f, k in GRID]
    assert js["until"] == [steps_until(f, 1e-3).steps for f, _ in GRID]
    python_layers = [layer_gradients(f, k) for f, k in GRID if 1 <= k <= 1000]
    for mine, ref in zip(js["layers"], python_layers, strict=True):
        assert [x["text"] for x in mine["layers"]] == [x.text for x in ref.layers]
        assert mine["verdict"] == ref.verdict
    assert js["peaks"] == {a: peak_derivative(a) for a in js["peaks"]}


SETTINGS = [
    ("0.9", "50", "linear"),
    ("0.5", "20", "tanh"),
    ("0.95", "200", "sigmoid"),
    ("1.1", "120", "relu"),
    ("0.05", "200", "sigmoid"),
]


def test_the_simulator_page_prints_what_the_library_computes(page_at):
    page = page_at("/simulator")
    page.evaluate("simSetMode('time')")
    for factor, steps, activation in SETTINGS:
        move(page, "#activation", activation)
        move(page, "#factor", factor)
        move(page, "#steps", steps)
        effective = float(factor) * peak_derivative(activation)
        shown = page.locator("#fact-final .value").inner_text()
        assert shown == magnitude(effective, int(steps))[2], (factor, steps, activation)
        until = steps_until(effective, 1e-3).steps
        assert page.locator("#fact-until .value").inner_text() == f"{until} steps"
        assert page.locator("#fact-effective .value").inner_text() == format_value(effective)


def test_moving_a_slider_redraws_the_chart_and_the_table_highlights_the_factor(page_at, shot):
    page = page_at("/simulator")
    page.select_option("#activation", "linear")
    page.evaluate("simSetMode('time')")
    before = plot_y(page, "sim-plot")  # log10 of g_k / g_0
    assert len(before) == 51 and before[50] == pytest.approx(50 * math.log10(0.9))
    move(page, "#factor", "0.7")
    after = plot_y(page, "sim-plot")
    assert after[50] == pytest.approx(50 * math.log10(0.7)) and after != before
    current = page.locator("#decay tr.current td").first.inner_text()
    assert current.startswith("0.700")
    assert page.locator("#decay tbody tr").count() == 4  # 0.7 is one of the classic factors
    move(page, "#factor", "0.65")
    assert page.locator("#decay tbody tr").count() == 5
    shot(page, "simulator")


def test_the_layer_mode_draws_w_to_the_l_minus_i(page_at, shot):
    page = page_at("/simulator")
    page.select_option("#activation", "linear")
    page.click("#mode-seg button[data-mode=layers]")
    move(page, "#steps", "6")
    move(page, "#factor", "0.5")
    y = plot_y(page, "sim-plot")
    assert y == pytest.approx([k * math.log10(0.5) for k in (5, 4, 3, 2, 1, 0)])
    assert page.locator("#fact-regime .value").inner_text() == "vanishing"
    shot(page, "simulator-layers")
    page.evaluate("simSetMode('time')")


def test_a_probe_draws_its_curve_and_probes_overlay_for_comparison(page_at, shot):
    page = page_at("/probe")
    page.click("#clear-runs")
    page.fill("#hidden_size", "32")
    page.fill("#seq_len", "60")
    page.click("#run-probe")
    page.wait_for_selector("body[data-probes='1']", timeout=20000)
    assert page.evaluate("document.getElementById('profile-plot').data.length") == 1
    page.click("#cell-seg button[data-value=lstm]")
    page.click("#run-probe")
    page.wait_for_selector("body[data-probes='2']", timeout=20000)
    assert page.evaluate("document.getElementById('profile-plot').data.length") == 2
    assert page.locator("#runs li").count() == 2
    assert page.locator("#facts .fact").count() >= 3
    eigen_traces = page.evaluate("document.getElementById('eigen-0').data.length")
    assert eigen_traces == 1 + 4  # unit circle + the LSTM's four gate blocks
    assert page.get_attribute("#eigen-0", "data-layer") == "layer 1"
    shot(page, "probe-lab")
    page.locator("#runs li").first.locator("button").click()
    assert page.locator("#runs li").count() == 1


def test_a_bad_probe_shows_the_server_s_one_line_error(page_at):
    page = page_at("/probe")
    page.fill("#seed", "3000000000")  # the form checks sizes and combinations, not the seed
    page.click("#run-probe")
    error = page.wait_for_selector("#probe-error .error")
    assert error.inner_text() == "seed: 3000000000 is not allowed; must be <= 2147483647"
    page.fill("#seed", "0")


def test_the_results_page_lists_results_and_opens_a_study(server, page, shot):
    page.goto(server + "/results")
    page.wait_for_selector("#result-list a")
    assert page.locator("#result-list a").count() == 3
    page.click("#result-list a[data-id=study]")
    page.wait_for_selector("#result-view[data-loaded=study]")
    assert page.locator("#result-view .js-plotly-plot").count() >= 4
    assert page.locator("#section-audit .badge.good").count() == 1
    shot(page, "results-study")


def test_the_html_report_draws_every_figure_with_the_network_cut_off(
    data_dir, page, shot, tmp_path
):
    from gradtrace.report import write_report
    from gradtrace.report.sources import load_document

    out = write_report(data_dir / "study", out=tmp_path / "report.html")
    requests: list[str] = []
    page.route("http*://**", lambda route: (requests.append(route.request.url), route.abort()))
    page.goto(out.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
    drawn = page.locator(".js-plotly-plot").count()
    assert drawn == len(load_document(data_dir / "study").figures())
    assert requests == []
    shot(page, "report-study")
