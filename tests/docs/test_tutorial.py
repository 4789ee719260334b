"""The tutorial notebook runs top to bottom, and every output shows once, short and rich."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


@pytest.fixture(scope="module")
def executed():
    """The tutorial executed in a fresh kernel (about ten seconds)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    return {cell.source.splitlines()[-1]: cell.outputs for cell in code}


def _only(outputs, kind):
    shown = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert len(shown) == 1, f"{kind}: shown {len(shown)} times"
    return shown[0].data


def test_result_objects_show_one_short_html_table(executed):
    for line, name in [
        ("spec  # a frozen, validated spec: fields set explicitly are marked *", "ModelSpec"),
        ("profile  # one row per recurrent layer: gamma_hat, horizon, verdict", "GradientProfile"),
        ("diagnosis", "Diagnosis"),
        ("decay_table(until=1e-3)", "DecayTable"),
    ]:
        data = _only(executed[line], name)
        assert "<table" in data["text/html"] and name in data["text/html"]
        assert len(data["text/plain"]) < 400 and "array(" not in data["text/plain"]


def test_a_figure_assigned_to_a_name_shows_once_as_png(executed):
    data = _only(executed["fig = profile.plot()"], "figure")
    assert "image/png" in data


def test_plotly_figures_carry_a_static_png_for_exported_notebooks(executed):
    line = (
        "profile_figure({r.label: r.diagnosis.profile for r in results}, relative=True, eps=1e-3)"
    )
    data = _only(executed[line], "plotly figure")
    assert "image/png" in data and "application/vnd.plotly.v1+json" in data


def test_monitor_summary_shows_once_and_the_monitor_shows_its_table(executed):
    data = _only(executed["monitor.summary()  # prints the table once and returns None"], "sum")
    assert "gradtrace monitor: 12 steps" in data["text/plain"]
    assert (
        "gradtrace monitor"
        in _only(executed["monitor  # the same table, as HTML"], "m")["text/html"]
    )
