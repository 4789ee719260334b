"""Figure specs hold exactly the measured numbers, drawn the same by Plotly and matplotlib."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradtrace.report.charts import loss_chart, profile_chart, spectrum_chart, timeline_chart
from gradtrace.report.records import Curve, profile_curves
from gradtrace.report.render_plotly import to_plotly
from gradtrace.report.render_png import to_png
from gradtrace.report.sample import profile_dict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def geometric(gamma: float, seq_len: int) -> Curve:
    return Curve("rnn.l0", gamma ** np.arange(seq_len)[::-1])


def test_profile_chart_puts_g_against_lag_so_a_geometric_decay_reads_gamma_to_the_k():
    spec = profile_chart([("a", [geometric(0.8, 30)])])
    (series,) = spec.series
    assert series.x == list(range(30))
    np.testing.assert_allclose(series.y, 0.8 ** np.arange(30), rtol=1e-12)
    assert spec.y_log and not spec.x_log


def test_relative_profile_chart_draws_eps_and_divides_by_the_last_step():
    curve = Curve("l", 2.0 * 0.5 ** np.arange(10)[::-1])
    spec = profile_chart([("a", [curve])], relative=True, eps=1e-3)
    np.testing.assert_allclose(spec.series[0].y, 0.5 ** np.arange(10))
    assert [h.y for h in spec.hlines] == [1e-3]


def test_lstm_cell_norms_are_drawn_dashed_in_the_layer_colour():
    curves = profile_curves(profile_dict([0.9], 12, kind="lstm"))
    spec = profile_chart([("lstm", curves)])
    hidden, cell = spec.series
    assert cell.dash and not hidden.dash and cell.color == hidden.color


def test_timeline_heatmap_holds_log10_of_the_relative_profile_per_training_step():
    rows = [geometric(0.5, 8), geometric(0.9, 8)]
    spec = timeline_chart([0, 100], rows, labels=["start", "end"])
    z = np.array(spec.heatmap.z, dtype=float)
    np.testing.assert_allclose(z[0], np.arange(8) * math.log10(0.5), atol=1e-12)
    np.testing.assert_allclose(z[1], np.arange(8) * math.log10(0.9), atol=1e-12)
    fig = to_plotly(spec)
    assert fig.data[0].y == ("start", "end") and fig.layout.yaxis.type == "category"


def test_non_positive_values_leave_gaps_on_a_log_axis_instead_of_breaking_it():
    curve = Curve("l", np.array([0.0, math.nan, 0.5, 1.0]))
    fig = to_plotly(profile_chart([("a", [curve])]))
    assert list(fig.data[0].y) == [1.0, 0.5, None, None]
    assert fig.layout.yaxis.type == "log"


def test_loss_chart_draws_the_chance_baseline_as_a_toggleable_series():
    spec = loss_chart([("run", [0, 10], [0.3, 0.1])], baseline=1 / 6)
    fig = to_plotly(spec)
    names = [t.name for t in fig.data]
    assert names[0] == "run" and names[1].startswith("chance baseline 0.1667")
    assert list(fig.data[1].y) == [1 / 6, 1 / 6]


def test_spectrum_chart_draws_the_unit_circle_and_every_eigenvalue():
    eigs = [complex(0.5, 0.5), complex(-1.2, 0.0)]
    spec = spectrum_chart([("W", eigs)])
    circle, points = spec.series
    radius = np.hypot(np.array(circle.x, dtype=float), np.array(circle.y, dtype=float))
    np.testing.assert_allclose(radius, 1.0, atol=1e-12)
    assert points.x == [0.5, -1.2] and points.y == [0.5, 0.0] and points.mode == "markers"
    assert to_plotly(spec).layout.yaxis.scaleanchor == "x"


@pytest.mark.parametrize(
    "spec",
    [
        profile_chart([("a", [geometric(0.8, 20)])], relative=True, eps=1e-3),
        timeline_chart([0, 5, 10], [geometric(0.8, 20)] * 3),
        spectrum_chart([("W", [complex(0.3, 0.1)])]),
        loss_chart([("run", [0, 1, 2], [1.0, None, 0.5])], baseline=0.2),
    ],
    ids=["profile", "timeline", "spectrum", "loss"],
)
def test_every_kind_of_figure_renders_to_a_png_with_matplotlib(spec, tmp_path):
    path = to_png(spec, tmp_path / "f.png")
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000
