"""`gradtrace simulate`: decay, layers, activations, matrix, memory and the guided tour."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gradtrace.cli.types import path
from gradtrace.errors import InvalidValue
from gradtrace.simulate.paths import check_figure_path, check_folder

Drawer = Callable[[Any, Path], Path]


# ----------------------------------------------------------------------------- parsing helpers
def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def expand_lists(args: list[str], list_options: tuple[str, ...]) -> list[str]:
    """Rewrite ``--factor 0.9 0.7`` as ``--factor 0.9 --factor 0.7`` for Click's multiple=True.

    A list option takes every following token up to the next option (negative numbers are
    values, so ``--factor -1`` reaches validation and is reported as a bad factor).
    """
    out: list[str] = []
    current, taken = None, 0
    for index, token in enumerate(args):
        if token == "--":
            out.extend(args[index:])
            return out
        if current and (not token.startswith("-") or _is_number(token)):
            out.extend([current, token])
            taken += 1
            continue
        if current and taken == 0:
            out.append(current)  # no value: Click reports "requires an argument"
        current, taken = (token, 0) if token in list_options else (None, 0)
        if current is None:
            out.append(token)
    if current and taken == 0:
        out.append(current)
    return out


class ListCommand(click.Command):
    """A command whose ``list_options`` accept several space-separated values."""

    def __init__(self, *args: Any, list_options: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_options = list_options

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_lists(args, self.list_options))


@contextmanager
def as_options(names: dict[str, str]) -> Iterator[None]:
    """Re-raise the library's InvalidValue under the CLI option's name (factors -> --factor)."""
    try:
        yield
    except InvalidValue as e:
        if e.name in names:
            raise InvalidValue(names[e.name], e.value, e.allowed) from e
        raise


# --------------------------------------------------------------------------- output helpers
def emit(record: Any, *, as_json: bool, plot: Path | None, draw: Drawer) -> None:
    """Print the record (Rich table, or JSON) and write its figure when asked."""
    written = draw(record, plot) if plot is not None else None
    if as_json:
        data = record.to_dict()
        if written is not None:
            data["plot"] = str(written)
        click.echo(json.dumps(data, indent=2, allow_nan=False))
        return
    from rich.console import Console

    from gradtrace.simulate.tables import renderable

    console = Console()
    console.print(renderable(record))
    if written is not None:
        console.print(f"plot written to {written}")


def output_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--json and --plot, shared by every simulate command."""
    function = click.option(
        "--plot",
        "plot",
        type=str,
        default=None,
        metavar="FILE.png",
        help="Also write a figure (.png, .svg or .pdf).",
    )(function)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print JSON {"command", "params", "results"} instead of the table.',
    )(function)


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


@simulate.command(short_help="Jacobian-product norms of a real recurrence.")
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


@simulate.command(
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
