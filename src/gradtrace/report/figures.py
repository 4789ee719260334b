"""Plotly figures of gradtrace records, for notebooks: each returns a plotly Figure to display.

The figures are NotebookFigures (gradtrace.inline): interactive in JupyterLab and VS Code, and
a static PNG in exported notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from gradtrace.inline import notebook_figure
from gradtrace.report.charts import loss_chart, profile_chart, spectrum_chart, timeline_chart
from gradtrace.report.records import as_list, number, profile_curves
from gradtrace.report.sources.probe import eigenvalues, spectrum_name


def _labelled(profiles: Any) -> list[tuple[str, Any]]:
    if (
        isinstance(profiles, dict)
        and all(isinstance(k, str) for k in profiles)
        and "layers" not in profiles
    ):
        return list(profiles.items())
    if isinstance(profiles, list | tuple):
        return [p if isinstance(p, tuple) else (f"#{i}", p) for i, p in enumerate(profiles)]
    return [("", profiles)]


def profile_figure(profiles: Any, *, relative: bool = False, eps: float | None = None) -> go.Figure:
    """g (or r_k) against lag on a log scale: a GradientProfile (or its dict), a list of them,
    or {label: profile}; one line per profile and layer."""
    configs = [(label, profile_curves(p)) for label, p in _labelled(profiles)]
    return notebook_figure(profile_chart(configs, relative=relative, eps=eps))


def timeline_figure(profiles: Sequence[tuple[float, Any]], *, layer: int = 0) -> go.Figure:
    """Heatmap of log10 r_k across training from [(step, profile), ...] (one layer)."""
    steps, curves = [], []
    for step, profile in profiles:
        found = profile_curves(profile)
        if len(found) > layer:
            steps.append(float(step))
            curves.append(found[layer])
    return notebook_figure(timeline_chart(steps, curves))


def loss_figure(records: Any) -> go.Figure:
    """Loss curves of RunRecords (or their dicts, or {label: record}) with the chance baseline
    and, where the task's metric is the loss, the solve threshold."""
    from gradtrace.report.sources.study import loss_references

    runs, baseline, threshold = [], None, None
    for label, record in _labelled(records):
        data = record.to_dict() if hasattr(record, "to_dict") else record
        points = [p for p in as_list(data.get("loss_curve")) if len(as_list(p)) == 2]
        runs.append(
            (label or "loss", [number(p[0]) for p in points], [number(p[1]) for p in points])
        )
        if baseline is None:
            baseline, threshold = loss_references(data)
    return notebook_figure(loss_chart(runs, baseline=baseline, threshold=threshold))


def spectrum_figure(spectra: Any) -> go.Figure:
    """Eigenvalues of recurrent matrices (MatrixSpectrum or dicts) against the unit circle."""
    items = [s.to_dict() if hasattr(s, "to_dict") else s for s in as_list(spectra)]
    return notebook_figure(spectrum_chart([(spectrum_name(s), eigenvalues(s)) for s in items]))
