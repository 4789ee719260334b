"""`gradtrace simulate`: decay, layers, activations, matrix, memory and the guided tour."""

from __future__ import annotations

import json

import click

from gradtrace.cli.simulate_helpers import Drawer as Drawer
from gradtrace.cli.simulate_helpers import ListCommand, as_options, emit, output_options
from gradtrace.cli.simulate_helpers import expand_lists as expand_lists
from gradtrace.cli.simulate_recurrences import MATRIX_OPTIONS as MATRIX_OPTIONS
from gradtrace.cli.simulate_recurrences import MEMORY_OPTIONS as MEMORY_OPTIONS
from gradtrace.cli.simulate_recurrences import matrix, memory
from gradtrace.cli.types import path
from gradtrace.simulate.paths import check_figure_path, check_folder


# ---------------------------------------------------------------------------------- commands
@click.group()
def simulate() -> None:
    """Run the theory: decay factors, layers, activation slopes, Jacobian products, a tour."""


@simulate.command(
    cls=ListCommand,
    list_options=("--factor", "--steps"),
    short_help="gamma^k for factors gamma and steps k.",
)
@click.option(
    "--factor",
    "factors",
    type=float,
    multiple=True,
    metavar="GAMMA...",
    help="Per-step factors gamma > 0 (default 0.9 0.7 0.5 0.3).",
)
@click.option(
    "--steps",
    "steps",
    type=int,
    multiple=True,
    metavar="K...",
    help="Step counts k >= 1 (default 10 20 50).",
)
@click.option(
    "--until",
    "until",
    type=float,
    default=None,
    metavar="EPS",
    help="Also give the steps until gamma^k < EPS (or > 1/EPS when gamma > 1).",
)
@output_options
def decay(
    factors: tuple[float, ...],
    steps: tuple[int, ...],
    until: float | None,
    as_json: bool,
    plot: str | None,
) -> None:
    """gamma^k for every factor gamma and step count k."""
    from gradtrace.simulate.decay import SEED_FACTORS, SEED_STEPS, decay_table
    from gradtrace.simulate.plots import plot_decay

    target = check_figure_path(plot, name="--plot")
    with as_options(
        {"factors": "--factor", "factor": "--factor", "steps": "--steps", "eps": "--until"}
    ):
        record = decay_table(factors or SEED_FACTORS, steps or SEED_STEPS, until=until)
    emit(record, as_json=as_json, plot=target, draw=plot_decay)


@simulate.command(short_help="Gradient by layer, w^(L-i), with a verdict.")
@click.option(
    "--weight-scale",
    "-w",
    "weight_scale",
    type=float,
    default=0.5,
    show_default=True,
    help="Weight scale w > 0.",
)
@click.option(
    "--layers",
    "-L",
    "num_layers",
    type=int,
    default=5,
    show_default=True,
    help="Number of layers L.",
)
@click.option(
    "--band",
    type=float,
    default=10.0,
    show_default=True,
    help="Verdict band: vanishing below 1/band, exploding above band (layer 1 / L).",
)
@output_options
def layers(
    weight_scale: float, num_layers: int, band: float, as_json: bool, plot: str | None
) -> None:
    """Gradient at layer i of L proportional to w^(L-i), with bars and a verdict."""
    from gradtrace.simulate.layers import layer_gradients
    from gradtrace.simulate.plots import plot_layers

    target = check_figure_path(plot, name="--plot")
    with as_options({"weight_scale": "--weight-scale", "num_layers": "--layers", "band": "--band"}):
        record = layer_gradients(weight_scale, num_layers, band=band)
    emit(record, as_json=as_json, plot=target, draw=plot_layers)


@simulate.command(
    cls=ListCommand,
    list_options=("--activation", "--sigma"),
    short_help="Activation slopes: largest, at 0, and mean.",
)
@click.option(
    "--activation",
    "names",
    type=str,
    multiple=True,
    metavar="NAME...",
    help="sigmoid tanh relu leaky_relu prelu linear (default: the first five).",
)
@click.option(
    "--sigma",
    "sigmas",
    type=float,
    multiple=True,
    metavar="S...",
    help="Widths of a ~ N(0, S^2) (default 0.25 0.5 1 2 4).",
)
@click.option(
    "--slope",
    type=float,
    default=None,
    help="Negative-side slope of leaky_relu / prelu (defaults 0.01 / 0.25).",
)
@output_options
def activations(
    names: tuple[str, ...],
    sigmas: tuple[float, ...],
    slope: float | None,
    as_json: bool,
    plot: str | None,
) -> None:
    """Largest slope, slope at 0 and mean slope E[phi'(a)] of each activation."""
    from gradtrace.simulate.activations import REPORTED
    from gradtrace.simulate.plots import plot_activations
    from gradtrace.simulate.saturation import DEFAULT_SIGMAS, activation_report

    target = check_figure_path(plot, name="--plot")
    with as_options(
        {
            "names": "--activation",
            "activation": "--activation",
            "sigmas": "--sigma",
            "sigma": "--sigma",
            "slope": "--slope",
        }
    ):
        record = activation_report(names or REPORTED, sigmas or DEFAULT_SIGMAS, slope=slope)
    emit(record, as_json=as_json, plot=target, draw=plot_activations)


simulate.add_command(matrix)  # matrix and memory: cli/simulate_recurrences.py
simulate.add_command(memory)


@simulate.command(short_help="All four with figures: start here.")
@click.option(
    "--out",
    "out_dir",
    type=path(),
    default="runs/tour",
    show_default=True,
    help="Folder for the four figures.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the parts as JSON.")
def tour(out_dir: str, as_json: bool) -> None:
    """All four simulations with classic settings; figures go to --out."""
    from rich.console import Console
    from rich.rule import Rule

    from gradtrace.simulate.tables import tour_part_renderable
    from gradtrace.simulate.tour import run_tour

    folder = check_folder(out_dir, name="--out")
    if as_json:
        parts = [part.to_dict() for part in run_tour(folder)]
        click.echo(
            json.dumps(
                {"command": "tour", "params": {"out": str(folder)}, "results": {"parts": parts}},
                indent=2,
                allow_nan=False,
            )
        )
        return
    console = Console()
    console.print(Rule("[bold]gradtrace tour: vanishing and exploding gradients in four steps"))
    for part in run_tour(folder):
        console.print()
        console.print(tour_part_renderable(part))
    console.print()
    console.print(
        f"All four figures are in {folder}/. Next: gradtrace simulate matrix --help, "
        "or any part with --json or --plot FILE.png."
    )
