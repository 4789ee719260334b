"""``gradtrace probe``: diagnose one model spec, or compare several, in a compact Rich report."""

from __future__ import annotations

import json

import click
from rich.console import Console

from gradtrace import defaults
from gradtrace.bounds import LIBRARY
from gradtrace.cli.choices import show_choices
from gradtrace.cli.frontier_options import frontier_options
from gradtrace.cli.probe_render import BAR_WIDTH as BAR_WIDTH
from gradtrace.cli.probe_render import render_compare, render_one
from gradtrace.cli.probe_specs import FIELD_OPTIONS as FIELD_OPTIONS
from gradtrace.cli.probe_specs import _probe_specs
from gradtrace.cli.types import max_memory_option, path
from gradtrace.errors import InvalidValue

# ModelSpec.cell's choices (torch's three, then gradtrace.models.frontier's)
CELL_CHOICES = [
    "rnn",
    "lstm",
    "gru",
    "indrnn",
    "exprnn",
    "lru",
    "mingru",
    "minlstm",
    "selective_ssm",
]


@click.command("probe")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option(
    "--compare", "compare_mode", is_flag=True, help="Compare the SPECs in one table and plot."
)
@click.option("--cell", type=click.Choice(CELL_CHOICES), default="rnn", show_default=True)
@click.option(
    "--activation",
    type=click.Choice(["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"]),
    default=None,
    help="RNN or expRNN activation; default: the cell's own (modrelu for exprnn, else tanh).",
)
@click.option(
    "--init", default="default", show_default=True, help="Initializer name (gradtrace.init)."
)
@click.option(
    "--init-scale",
    type=float,
    default=None,
    help="rho for spectral, std for normal, t_max for chrono.",
)
@click.option(
    "--forget-bias",
    default="auto",
    show_default=True,
    help="auto: 1.0 for LSTM (common practice), else unset; none: torch's default; or a number.",
)
@click.option(
    "--hidden", type=click.IntRange(1, LIBRARY.hidden_size), default=64, show_default=True
)
@click.option("--layers", type=click.IntRange(1, LIBRARY.num_layers), default=1, show_default=True)
@click.option("--residual/--no-residual", default=False, show_default=True)
@click.option("--layer-norm/--no-layer-norm", default=False, show_default=True)
@frontier_options
@click.option(
    "--readout", type=click.Choice(["last", "all", "attention"]), default="last", show_default=True
)
@click.option(
    "--input-size", type=click.IntRange(1, LIBRARY.input_size), default=1, show_default=True
)
@click.option("--seq-len", type=click.IntRange(2, LIBRARY.seq_len), default=100, show_default=True)
@click.option(
    "--batch-size",
    type=click.IntRange(1, LIBRARY.batch_size),
    default=defaults.BATCH_SIZE,
    show_default=True,
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(["auto", "float32", "float64"]),
    default="auto",
    show_default=True,
    help="Trace precision; auto: float32 where it holds the numbers exactly, else float64.",
)
@click.option("--task", default=None, help="Draw the batch from a task (adding, copy, ...).")
@click.option(
    "--eps",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=1e-3,
    show_default=True,
)
@click.option(
    "--threads", type=click.IntRange(1, 256), default=1, show_default=True, help="torch threads"
)
@click.option("--json", "as_json", is_flag=True, help="Print the result(s) as JSON.")
@click.option(
    "--plot",
    "plot_path",
    type=path(dir_okay=False),
    default=None,
    help="Write r_k against lag to this figure (.png at 200 dpi, .svg or .pdf).",
)
@max_memory_option
def probe(specs, compare_mode, threads, as_json, plot_path, max_memory, **options) -> None:
    """Diagnose gradient flow of a freshly initialised model on one batch.

    SPEC is a compact model description over the flags: items separated by ':' or ',', each a
    cell, activation, init or switch word, or key=value (e.g. rnn:tanh:orthogonal,
    lstm:fb=1, gru, cell=rnn,init=spectral,scale=0.9,hidden=128). With two or more SPECs (or
    --compare) the specs are compared in one table and one plot.
    """
    from gradtrace.diagnosis.probing import compare

    if compare_mode and not specs:
        raise InvalidValue(
            "--compare", "no SPEC", "give one or more SPECs, e.g. --compare rnn lstm"
        )
    probe_specs = _probe_specs(options, specs)
    import torch

    from gradtrace.simulate.paths import check_figure_path

    check_figure_path(plot_path, name="--plot")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # small recurrent models run fastest on one thread
    try:
        results = compare(probe_specs, max_memory=max_memory)
    finally:
        torch.set_num_threads(previous)
    comparing = compare_mode or len(results) > 1
    if plot_path is not None:
        from gradtrace.diagnosis.plot import plot_probes

        plot_probes(results, plot_path)
    if as_json:
        payload = {"results": [r.to_dict() for r in results]} if comparing else results[0].to_dict()
        click.echo(json.dumps(payload, allow_nan=False))
        return
    console = Console()  # the terminal's width; tables fold to fit (tested at 80 and 120)
    console.print(render_compare(results) if comparing else render_one(results[0]))
    if plot_path is not None:
        console.print(f"plot written to {plot_path}")


show_choices(probe)  # text options list their choices in --help
