"""The notebook API returns Plotly figures holding exactly the records' numbers."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gradtrace.report import loss_figure, profile_figure, spectrum_figure, timeline_figure
from gradtrace.report.sample import VARIANTS, run_record


@pytest.fixture
def traced():
    """A real GradientProfile and spectra of a small tanh RNN."""
    from gradtrace.diagnosis import spectra
    from gradtrace.models import ModelSpec, build_model
    from gradtrace.tracing import trace

    model = build_model(ModelSpec(hidden_size=8))
    x = torch.randn(4, 15, 1)
    with trace(model) as tracer:
        model(x).sum().backward()
    return tracer.profile, spectra(model)


def test_profile_figure_draws_a_traced_profile_by_lag(traced):
    profile, _ = traced
    fig = profile_figure(profile)
    assert isinstance(fig, go.Figure) and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, np.asarray(profile.layers[0].g)[::-1])


def test_profile_figure_overlays_labelled_profiles_and_their_dicts(traced):
    profile, _ = traced
    fig = profile_figure({"object": profile, "dict": profile.to_dict()}, relative=True, eps=1e-3)
    names = [t.name for t in fig.data]
    assert names == ["object", "dict", "eps = 0.001"]
    np.testing.assert_allclose(fig.data[0].y, fig.data[1].y)
    assert fig.data[0].y[0] == 1.0


def test_timeline_figure_stacks_profiles_over_training_steps(traced):
    profile, _ = traced
    fig = timeline_figure([(0, profile), (10, profile.to_dict())])
    assert fig.data[0].type == "heatmap" and list(fig.data[0].y) == [0.0, 10.0]


def test_spectrum_figure_plots_every_eigenvalue_of_the_recurrent_matrix(traced):
    _, spectra = traced
    fig = spectrum_figure(spectra)
    radius = np.abs(np.array(fig.data[1].x) + 1j * np.array(fig.data[1].y)).max()
    assert radius == pytest.approx(spectra[0].spectral_radius)


def test_loss_figure_draws_run_records_with_their_baseline():
    record = run_record(VARIANTS[2], seq_len=20, seed=0)
    fig = loss_figure({"lstm": record})
    assert fig.data[0].name == "lstm"
    assert fig.data[1].y[0] == pytest.approx(record["baseline"])
