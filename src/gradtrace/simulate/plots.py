"""Figures of simulate's records (matplotlib, Agg, log-scale y where things decay or grow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gradtrace.simulate.decay import DecayTable
from gradtrace.simulate.formatting import format_param
from gradtrace.simulate.layers import LayerGradients
from gradtrace.simulate.matrix import MatrixResult
from gradtrace.simulate.saturation import ActivationReport, expected_derivative


def _figure(columns: int = 1):  # -> matplotlib.figure.Figure
    # a bare Figure (no pyplot): no global figure registry, and savefig picks Agg for png
    from matplotlib.figure import Figure

    return Figure(figsize=(6.4 * columns, 4.4), layout="constrained")


def _styled(*axes):
    """The colour-blind-safe palette (gradtrace.plotting) on every axes; returns them."""
    from gradtrace.plotting import PALETTE

    for ax in axes:
        ax.set_prop_cycle(color=list(PALETTE))
    return axes[0] if len(axes) == 1 else axes


def _save(figure, path: str | Path) -> Path:
    from gradtrace.plotting import save_figure

    return save_figure(figure, path)


def plot_decay(table: DecayTable, path: str | Path) -> Path:
    """gamma^k against k for every factor, log y, the table's step counts marked."""
    figure = _figure()
    ax = _styled(figure.add_subplot())
    last = max(table.steps)
    k = np.arange(0, last + 1)
    for row in table.rows:
        ax.plot(
            k,
            10.0 ** np.clip(k * np.log10(row.factor), -300, 300),
            label=rf"$\gamma$ = {format_param(row.factor)}",
        )
        ax.plot(table.steps, 10.0 ** np.clip(row.log10, -300, 300), "o", color="0.3", ms=3)
    if table.eps is not None:
        ax.axhline(table.eps, color="0.5", ls="--", lw=1, label=f"eps = {table.eps:g}")
    ax.set_yscale("log")
    ax.set(xlabel="steps $k$", ylabel=r"$\gamma^k$", title="Signal left after k steps")
    ax.legend()
    return _save(figure, path)


def plot_layers(results: LayerGradients | Sequence[LayerGradients], path: str | Path) -> Path:
    """Relative gradient by layer as grouped bars, log y, one group per weight scale."""
    runs = [results] if isinstance(results, LayerGradients) else list(results)
    figure = _figure()
    ax = _styled(figure.add_subplot())
    width = 0.8 / len(runs)
    for i, result in enumerate(runs):
        layers = np.array([layer.layer for layer in result.layers])
        values = 10.0 ** np.clip([layer.log10 for layer in result.layers], -300, 300)
        ax.bar(
            layers + (i - (len(runs) - 1) / 2) * width,
            values,
            width,
            label=f"w = {format_param(result.weight_scale)} ({result.verdict})",
        )
    ax.axhline(1.0, color="0.5", lw=1)
    ax.set_yscale("log")
    ax.set(
        xlabel="layer i (the loss is after layer L)",
        ylabel="gradient relative to layer L",
        title="Gradient at layer $i$: $w^{L-i}$",
    )
    ax.legend()
    return _save(figure, path)


def plot_activations(report: ActivationReport, path: str | Path) -> Path:
    """Left: phi'(a) over a; right: E[phi'(a)] for a ~ N(0, sigma^2) over sigma (log x)."""
    from gradtrace.simulate.activations import get_activation

    figure = _figure(columns=2)
    left, right = _styled(*figure.subplots(1, 2))
    a = np.linspace(-6, 6, 1201)
    sigmas = np.geomspace(min(min(report.sigmas), 0.1), max(max(report.sigmas), 10.0), 40)
    for i, row in enumerate(report.rows):
        activation = get_activation(row.name)
        slope = activation.slope_or_default(report.slope)
        style = ("-", "--", "-.", ":")[i % 4]  # the relu family overlaps on a > 0
        left.plot(a, activation.derivative(a, slope), style, label=row.name)
        curve = [expected_derivative(row.name, s, slope=report.slope) for s in sigmas]
        line = right.plot(sigmas, curve, label=row.name)[0]
        right.plot(report.sigmas, row.mean, "o", color=line.get_color(), ms=3)
    left.set(xlabel="pre-activation $a$", ylabel=r"$\varphi'(a)$", title="Derivatives")
    right.set_xscale("log")
    right.set(
        xlabel=r"$\sigma$  ($a \sim N(0, \sigma^2)$)",
        ylabel=r"$E[\varphi'(a)]$",
        title="Average slope: saturation shrinks it",
    )
    left.legend()
    right.legend()
    return _save(figure, path)


def plot_matrix(results: MatrixResult | Sequence[MatrixResult], path: str | Path) -> Path:
    """||dh_T/dh_(T-k)|| against k (log y) with the bound and the fitted gamma_hat^k."""
    runs = [results] if isinstance(results, MatrixResult) else list(results)
    figure = _figure()
    ax = _styled(figure.add_subplot())
    for result in runs:
        k = np.arange(1, len(result.log10_norms) + 1)
        p = result.params
        line = ax.plot(
            k,
            result.log10_norms,
            label=rf"{p.activation}, {p.weights}, $\rho$ = {format_param(p.rho)}",
        )[0]
        ax.plot(k, result.bound_log10, ls=":", color=line.get_color(), lw=1)
    ax.axhline(np.log10(runs[0].eps), color="0.5", ls="--", lw=1, label=f"eps = {runs[0].eps:g}")
    ax.set(
        xlabel="lag $k$",
        ylabel=r"$\log_{10} \|\partial h_T / \partial h_{T-k}\|_2$",
        title=r"Jacobian product norms; dotted: bound $(\gamma_\varphi\, \sigma_{max})^k$",
    )
    low = min(float(np.min(np.nan_to_num(r.log10_norms, neginf=-300))) for r in runs)
    high = max(float(np.max(np.nan_to_num(r.log10_norms, neginf=-300))) for r in runs)
    ax.set_ylim(min(low, np.log10(runs[0].eps)) - 1, max(high, 0.0) + 1)
    ax.legend()
    return _save(figure, path)
