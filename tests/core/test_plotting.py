"""Figures for a paper: the palette, file formats at print resolution, underflow and labels."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from gradtrace.errors import InvalidValue
from gradtrace.plotting import PALETTE, color, dash, figure_format
from gradtrace.report.charts import loss_chart, robust_range
from gradtrace.report.render_plotly import html_label, to_plotly
from gradtrace.report.render_png import math_label, to_png
from gradtrace.tracing import GradientProfile, LayerProfile


def test_ten_traces_get_ten_distinct_colours_and_the_later_ones_are_dashed():
    colours = [color(i) for i in range(10)]
    assert len(set(colours)) == 10 and colours == list(PALETTE)
    rgb = np.array([to_rgb(c) for c in colours])
    gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + np.eye(10)
    assert gaps.min() > 0.15  # no two colours nearly equal
    assert {dash(i) for i in range(5)} == {"-"} and {dash(i) for i in range(5, 10)} == {"--"}


def _profile(g):
    return GradientProfile([LayerProfile("encoder.rnn.l0", "rnn", 0, 0, np.asarray(g, float))])


@pytest.mark.parametrize(("suffix", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                               ("pdf", b"%PDF")])  # fmt: skip
def test_profile_plots_save_in_the_format_of_their_extension(tmp_path, suffix, magic):
    path = tmp_path / f"p.{suffix}"
    _profile([1e-3, 0.1, 1.0]).plot(path)
    assert path.read_bytes()[: len(magic)] == magic


def test_pngs_are_written_at_200_dpi(tmp_path):
    from PIL import Image

    path = tmp_path / "p.png"
    figure = _profile([1e-3, 0.1, 1.0]).plot(path)
    width = Image.open(path).size[0]
    assert width == round(figure.get_figwidth() * 200)


def test_an_unknown_extension_is_refused_before_drawing():
    with pytest.raises(InvalidValue, match=r"png, \.svg or \.pdf"):
        figure_format("plot.jpg")


def test_underflowed_lags_are_marked_and_named_in_the_legend():
    figure = _profile([0.0, 0.0, 1e-3, 1.0]).plot()
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("underflowed to 0" in label for label in labels)
    marks = [line for line in ax.lines if line.get_marker() == "v" and len(line.get_xdata())]
    assert sorted(marks[0].get_xdata()) == [2, 3]  # lags 2 and 3 are t = 1, 2


def test_report_charts_mark_underflow_in_both_renderers(tmp_path):
    from gradtrace.report.charts import profile_chart
    from gradtrace.report.records import Curve

    spec = profile_chart([("run", [Curve("l0", np.array([0.0, 1e-3, 1.0]), None)])])
    names = [trace.name for trace in to_plotly(spec).data]
    assert "underflowed to 0" in names
    assert to_png(spec, tmp_path / "u.png").stat().st_size > 0


def test_an_early_spike_does_not_set_the_loss_charts_y_range():
    steps = list(range(100))
    loss = [50.0, *np.linspace(0.2, 0.01, 99)]
    spec = loss_chart([("run", steps, loss)], baseline=1 / 6, threshold=0.01, y_log=True)
    low, high = spec.y_range
    assert high < 1.0 and low < 0.01 < 1 / 6 < high  # both reference lines in view
    assert [h.name for h in spec.hlines] == ["chance baseline 0.1667", "solve threshold 0.01"]
    assert to_plotly(spec).layout.yaxis.range[1] == pytest.approx(np.log10(high))


def test_robust_range_keeps_reference_lines_and_needs_enough_points():
    assert robust_range([1.0, 2.0], [], log=False) is None
    low, high = robust_range([1, 2, 3, 4, 5, 6], [10.0], log=False)
    assert high > 10.0 and low < 1.1


def test_math_labels_render_as_mathtext_and_plotly_subscripts():
    from matplotlib.mathtext import MathTextParser

    label = math_label("r_k = g_{T-k} / g_T")
    assert label == "$r_{k}$ = $g_{T-k}$ / $g_{T}$"
    parser = MathTextParser("agg")
    for piece in ("$r_{k}$", "$g_{T-k}$", math_label("log10 r_k").split(" ")[0]):
        parser.parse(piece)
    assert html_label("log10 r_k") == "log<sub>10</sub> r<sub>k</sub>"
