"""``gradtrace simulate matrix`` and ``memory``: Jacobian products and the curse of memory."""

from __future__ import annotations

from typing import Any

import click

from gradtrace.cli.simulate_helpers import ListCommand, as_options, emit, output_options
from gradtrace.simulate.paths import check_figure_path

MATRIX_OPTIONS = {
    "hidden_size": "--hidden",
    "rho": "--rho",
    "weights": "--weights",
    "activation": "--activation",
    "slope": "--slope",
    "steps": "--steps",
    "input_size": "--input-size",
    "input_scale": "--input-scale",
    "bias": "--bias",
    "seed": "--seed",
}


@click.command(short_help="Jacobian-product norms of a real recurrence.")
@click.option("--hidden", "hidden_size", type=int, default=64, show_default=True)
@click.option("--rho", type=float, default=1.0, show_default=True, help="Spectral radius of W.")
@click.option(
    "--weights", type=str, default="gaussian", show_default=True, help="gaussian or orthogonal."
)
@click.option(
    "--activation",
    type=str,
    default="tanh",
    show_default=True,
    help="tanh sigmoid relu leaky_relu prelu linear.",
)
@click.option("--slope", type=float, default=None, help="Negative slope (leaky_relu, prelu).")
@click.option("--steps", type=int, default=100, show_default=True, help="Sequence length T.")
@click.option("--input-size", "input_size", type=int, default=1, show_default=True)
@click.option(
    "--input-scale",
    "input_scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Standard deviation of each unit's input drive U x_t.",
)
@click.option("--bias", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@output_options
def matrix(as_json: bool, plot: str | None, **options: Any) -> None:
    """Norms of dh_T/dh_(T-k) for h_t = phi(W h_(t-1) + U x_t + b), k = 1..T."""
    from gradtrace.simulate.matrix import matrix_recurrence
    from gradtrace.simulate.plots import plot_matrix

    target = check_figure_path(plot, name="--plot")
    with as_options(MATRIX_OPTIONS):
        record = matrix_recurrence(**options)
    emit(record, as_json=as_json, plot=target, draw=plot_matrix)


MEMORY_OPTIONS = {
    "lambdas": "--lambda",
    "samples": "--samples",
    "steps": "--steps",
    "seed": "--seed",
}


@click.command(
    cls=ListCommand,
    list_options=("--lambda",),
    short_help="The curse of memory: sensitivity of h_t to lambda.",
)
@click.option(
    "--lambda",
    "lambdas",
    type=float,
    multiple=True,
    metavar="LAMBDA...",
    help="Real lambdas with |lambda| < 1 (default 0 0.5 0.8 0.9 0.95 0.99).",
)
@click.option(
    "--samples",
    type=int,
    default=4000,
    show_default=True,
    help="Monte Carlo sequences per lambda.",
)
@click.option(
    "--steps",
    type=int,
    default=None,
    help="Sequence length t (default: per lambda, until the exact sum has converged).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@output_options
def memory(
    lambdas: tuple[float, ...],
    samples: int,
    steps: int | None,
    seed: int,
    as_json: bool,
    plot: str | None,
) -> None:
    """E[(dh_t/dlambda)^2] for h_t = lambda h_(t-1) + x_t: closed form beside autograd."""
    from gradtrace.simulate.memory import DEFAULT_LAMBDAS, memory_sensitivity, plot_memory

    target = check_figure_path(plot, name="--plot")
    with as_options(MEMORY_OPTIONS):
        record = memory_sensitivity(
            lambdas or DEFAULT_LAMBDAS, samples=samples, steps=steps, seed=seed
        )
    emit(record, as_json=as_json, plot=target, draw=plot_memory)
