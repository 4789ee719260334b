"""Result objects show as short tables (HTML, Rich, one-line repr) and figures show once."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from rich.console import Console

import gradtrace
from gradtrace import display, inline
from gradtrace.simulate import decay_table
from gradtrace.tracing import GradientProfile, LayerProfile


@pytest.fixture(scope="module")
def traced():
    """A traced two-layer tanh RNN (T = 40) and its diagnosis."""
    torch.manual_seed(0)
    model = gradtrace.build_model(gradtrace.ModelSpec(hidden_size=8, num_layers=2))
    x = torch.randn(4, 40, 1)
    with gradtrace.trace(model) as tr:
        model(x).pow(2).mean().backward()
    return tr.profile, gradtrace.diagnose(model, x)


def _rich_text(obj, width=80):
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(obj)
    return console.export_text()


def test_profiles_and_diagnoses_show_short_tables_not_arrays(traced):
    profile, diagnosis = traced
    for obj, name in [(profile, "GradientProfile"), (profile.layers[0], "LayerProfile"),
                      (diagnosis, "Diagnosis")]:  # fmt: skip
        text = repr(obj)
        assert text.startswith(name + "(") and len(text) < 300 and "array" not in text
        html = obj._repr_html_()
        assert html.count("<tr>") <= display.MAX_ROWS + 1 and "<table" in html
        rich = _rich_text(obj)
        assert max(map(len, rich.splitlines())) <= 80 and "gamma_hat" in rich
    layer = profile.layers[0]
    assert f"{layer.decay_factor:.3g}" in repr(layer)  # the number, as measured


def test_the_profile_table_states_each_layers_horizon_and_verdict(traced):
    profile, _ = traced
    summary = display.profile_summary(profile)
    for row, layer in zip(summary.rows, profile.layers, strict=True):
        horizon = layer.horizon()
        assert row[0] == layer.name and row[-1] == layer.verdict()
        assert row[-2] == ("beyond T" if horizon is None else str(horizon))


def test_html_escapes_names():
    layer = LayerProfile("<b>x</b>", "rnn", 0, 0, np.array([0.5, 1.0]))
    html = GradientProfile([layer])._repr_html_()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_specs_and_simulation_records_display_compactly():
    spec = gradtrace.ModelSpec(cell="lstm", hidden_size=8)
    html = spec._repr_html_()
    assert "hidden_size *" in html and "cell *" in html and "num_layers" in html
    table = decay_table(until=1e-3)
    assert repr(table).startswith("DecayTable(factors=(0.9, 0.7, 0.5, 0.3)")
    text = _rich_text(table)
    assert "0.349" in text and "steps to 0.001" in text  # 0.9**10 = 0.3487


def test_long_tables_are_cut_with_a_count():
    layers = [LayerProfile(f"l{i}", "rnn", i, 0, np.array([0.5, 1.0])) for i in range(20)]
    html = GradientProfile(layers)._repr_html_()
    assert html.count("<tr>") == display.MAX_ROWS + 1 and "8 more rows" in html


def test_readable_layer_names_only_rename_gradtraces_own_layers():
    assert display.readable_layer("layers.0.l0") == "layer 1"
    assert display.readable_layer("layers.2.l0.reverse") == "layer 3 (reverse)"
    assert display.readable_layer("encoder.lstm.l0") == "encoder.lstm.l0"
    assert display.readable_layer("layers.1") == "layer 2"  # loop backend, frontier scans
    assert display.readable_layer("layers.0.cell") == "layer 1"  # a declared cell (IndRNN)
    assert display.readable_layer("encoder.layers.0") == "encoder.layers.0"


def test_a_figure_shown_when_drawn_is_not_shown_again(traced, monkeypatch):
    profile, _ = traced
    shown = []
    monkeypatch.setattr(inline, "_in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    figure = profile.plot()  # drawn: shown once
    figure._ipython_display_()  # the cell's result: already shown
    assert len(shown) == 1 and base64.b64decode(shown[0]["image/png"])[:4] == b"\x89PNG"


def test_a_figure_outside_a_notebook_is_not_displayed(traced, monkeypatch):
    profile, _ = traced
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: pytest.fail("displayed"))
    assert profile.plot() is not None


def test_plotly_figures_carry_a_png_for_exported_notebooks(traced):
    from gradtrace.report import profile_figure

    profile, _ = traced
    bundle = profile_figure(profile)._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    assert bundle["application/vnd.plotly.v1+json"]["data"]


def test_training_records_and_simulations_show_their_outcome_not_their_curves():
    from gradtrace.report.sample import VARIANTS, run_record
    from gradtrace.simulate import activation_report, layer_gradients
    from gradtrace.training import RunRecord

    record = RunRecord.from_dict(run_record(VARIANTS[2], seq_len=20, seed=0))
    assert repr(record).startswith("RunRecord(status=") and len(repr(record)) < 200
    assert "chance baseline" in record._repr_html_()
    layers = layer_gradients(0.5, 5)
    assert repr(layers) == "LayerGradients(w=0.5, layers=5, verdict='vanishing')"
    assert "0.0625" in _rich_text(layers)
    report = activation_report()
    text = _rich_text(report, width=80)
    assert "σ=0.25" in text and "0.944" in text  # E tanh'(a), a ~ N(0, 0.25^2)
