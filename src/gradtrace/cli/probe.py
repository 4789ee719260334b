"""``gradtrace probe``: diagnose one model spec, or compare several, in a compact Rich report."""

from __future__ import annotations

import json
import math

import click
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from gradtrace import defaults
from gradtrace.bounds import LIBRARY
from gradtrace.cli.choices import show_choices
from gradtrace.cli.frontier_options import FRONTIER_OPTIONS, frontier_fields, frontier_options
from gradtrace.cli.types import max_memory_option, path
from gradtrace.display import readable_layer
from gradtrace.errors import InvalidValue

FIELD_OPTIONS = {
    **FRONTIER_OPTIONS,
    "cell": "--cell",
    "activation": "--activation",
    "init": "--init",
    "init_scale": "--init-scale",
    "forget_bias": "--forget-bias",
    "hidden_size": "--hidden",
    "num_layers": "--layers",
    "residual": "--residual",
    "layer_norm": "--layer-norm",
    "readout": "--readout",
    "input_size": "--input-size",
    "seq_len": "--seq-len",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "dtype": "--dtype",
    "task": "--task",
    "eps": "--eps",
}
BAR_WIDTH = 24
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


def _forget_bias(raw: str, cell: str, init: str) -> float | None:
    """--forget-bias: auto (gradtrace.defaults), none (torch's default) or a number."""
    text = raw.strip().lower()
    if text == "auto":
        return defaults.forget_bias_for(cell, None, init)
    if text in ("none", "default"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidValue("--forget-bias", raw, "auto, none or a number") from None
    if not math.isfinite(value):
        raise InvalidValue("--forget-bias", raw, "auto, none or a finite number")
    return value


def _renamed(error: InvalidValue) -> InvalidValue:
    """The same error with a spec field named as the option the user typed."""
    field = error.name.removeprefix("model.")
    return InvalidValue(FIELD_OPTIONS.get(field, error.name), error.value, error.allowed)


def _base_spec(options: dict):
    from gradtrace.models import ModelSpec

    fields = {
        "cell": options["cell"],
        "activation": options["activation"],
        "init": options["init"],
        "init_scale": options["init_scale"],
        "forget_bias": _forget_bias(options["forget_bias"], options["cell"], options["init"]),
        "hidden_size": options["hidden"],
        "num_layers": options["layers"],
        "residual": options["residual"],
        "layer_norm": options["layer_norm"],
        "readout": options["readout"],
        "input_size": options["input_size"],
        **frontier_fields(options),
    }
    if fields["init"] == "chrono" and fields["init_scale"] is None:
        fields["init_scale"] = float(options["seq_len"])
    try:
        return ModelSpec(**fields)
    except InvalidValue as e:
        raise _renamed(e) from None


def _probe_specs(options: dict, specs: tuple[str, ...]):
    from gradtrace.diagnosis.probing import ProbeSpec
    from gradtrace.diagnosis.shorthand import parse_spec

    base = _base_spec(options)
    models = [(base, None)] if not specs else []
    auto = options["forget_bias"].strip().lower() == "auto"
    for text in specs:
        model, label = parse_spec(text, base, name="SPEC", seq_len=options["seq_len"])
        if auto:  # an LSTM the SPEC leaves unbiased gets forget bias 1, and says so
            biased, _ = parse_spec(
                text, base, seq_len=options["seq_len"], lstm_forget_bias=defaults.LSTM_FORGET_BIAS
            )
            if biased != model:
                model, label = biased, f"{label} (fb=1)"
        models.append((model, label))
    if options["task"] is not None:
        from gradtrace.tasks import TASKS

        if options["task"] not in TASKS:
            raise InvalidValue("--task", options["task"], "choose one of " + ", ".join(TASKS))
    out = []
    for model, label in models:
        try:
            out.append(
                ProbeSpec(
                    model=model,
                    seq_len=options["seq_len"],
                    batch_size=options["batch_size"],
                    seed=options["seed"],
                    dtype=options["dtype"],
                    task=options["task"],
                    eps=options["eps"],
                    label=label,
                )
            )
        except InvalidValue as e:
            raise _renamed(e) from None
    return out


def _fmt(value: float | None) -> str:
    from gradtrace.diagnosis.advice import num

    if value is None:
        return "-"
    return num(value)


def _bar(r: float, eps: float) -> Text:
    """A bar whose length is log10 r on a scale from eps^2 (empty) to 1 (full)."""
    if r is None or not math.isfinite(r) or r <= 0:
        return Text("")
    floor = 2 * math.log10(eps)
    share = (math.log10(r) - floor) / -floor
    cells = max(0, min(BAR_WIDTH, round(share * BAR_WIDTH)))
    style = "red" if r > 1 / eps else ("green" if r >= eps else "yellow")
    return Text("█" * cells + ("▶" if r > 1 else ""), style=style)


def _horizon(result) -> str:
    return "beyond T" if result.horizon is None else f"{result.horizon} steps"


def render_one(result) -> Group:
    """The single-spec report: curve, decay, spectra, Lyapunov exponents, health, advice."""
    d = result.diagnosis
    spec = result.spec
    head = Text.assemble(
        ("gradtrace probe  ", "bold"),
        (f"{result.label}", "bold cyan"),
        f"  T={spec.seq_len} batch={spec.batch_size} {spec.dtype} seed={spec.seed}",
        f" task={spec.task}" if spec.task else "",
    )
    curve = Table(
        title=f"gradient reaching lag k ({readable_layer(result.layer)})", title_justify="left"
    )
    curve.add_column("lag k", justify="right")
    curve.add_column("g_{T-k}", justify="right")
    curve.add_column("r_k", justify="right")
    curve.add_column("log scale, eps^2 .. 1")
    for lag, g, r in zip(result.lags, result.g, result.relative, strict=True):
        curve.add_row(str(lag), _fmt(g), _fmt(r), _bar(r, spec.eps))
    verdict_style = {
        "healthy": "green",
        "vanishing": "yellow",
        "over-sensitive (curse of memory)": "yellow",
    }.get(d.verdict, "red")
    lines = [
        Text.assemble("verdict ", (d.verdict, f"bold {verdict_style}")),
        Text(f"gamma_hat {_fmt(result.gamma_hat)}: {result.sentence(50)}"),
        Text(f"horizon (r_k < {_fmt(spec.eps)}): {_horizon(result)} of T = {spec.seq_len}"),
    ]
    return Group(head, curve, *lines, _spectra(d), _dynamics(d), _memory(d), _health(d), _advice(d))


def _memory(d) -> Table:
    table = Table(
        title="the curse of memory: sensitivity of h_T to the recurrent vs input parameters",
        title_justify="left",
    )
    for name in ("layer", "ratio", "recurrent (RMS)", "input (RMS)", "verdict"):
        table.add_column(name, justify="left" if name in ("layer", "verdict") else "right")
    for s in d.sensitivity:
        over = s.over_sensitive(d.sensitivity_threshold)
        table.add_row(
            readable_layer(s.name),
            f"{_fmt(s.ratio)}x",
            _fmt(s.recurrent_rms),
            _fmt(s.input_rms),
            "over-sensitive" if over else "ok",
        )
    skipped = [k.split(": ", 1)[1] for k in d.not_computed if k.startswith("sensitivity: ")]
    if skipped:
        table.caption = f"not measured (see not computed): {', '.join(skipped)}"
    return table


def _spectra(d) -> Table:
    table = Table(title="recurrent matrices", title_justify="left")
    for name in ("matrix", "gate", "spectral radius", "max singular value"):
        table.add_column(name, justify="left" if name in ("matrix", "gate") else "right")
    for s in d.spectra:
        table.add_row(readable_layer(s.name), s.gate, _fmt(s.spectral_radius), _fmt(s.max_singular))
    return table


def _dynamics(d) -> Table:
    table = Table(
        title="Lyapunov exponents per step (top k) and Jacobian products", title_justify="left"
    )
    table.add_column("layer")
    table.add_column("exponents")
    table.add_column("||J_T ... J_{T-k+1}||_2 at lag k")
    for dyn in d.lyapunov:
        norms = "-"
        if dyn.product_norms:
            at = dict(zip(dyn.lags, dyn.product_norms, strict=True))
            picks = dict.fromkeys(k for k in (1, 10, 100, dyn.lags[-1]) if k in at)
            norms = "  ".join(f"k={k}: {_fmt(at[k])}" for k in picks)
        exps = " ".join(_fmt(e) for e in dyn.exponents[:4])
        table.add_row(
            readable_layer(dyn.name), exps + (" ..." if len(dyn.exponents) > 4 else ""), norms
        )
    return table


def _health(d) -> Table:
    table = Table(title="unit health", title_justify="left")
    for name in ("layer", "saturated", "dead", "gates (mean)"):
        table.add_column(name)
    for h in d.health.layers:
        gates = " ".join(f"{k} {_fmt(v)}" for k, v in h.gate_means.items())
        if h.forget_timescale is not None:
            gates += f" (memory ~{_fmt(h.forget_timescale)} steps)"
        table.add_row(
            readable_layer(h.name),
            "-" if h.saturated is None else f"{_fmt(100 * h.saturated)}%",
            "-" if h.dead is None else f"{_fmt(100 * h.dead)}% ({h.dead_units})",
            gates or "-",
        )
    sub = d.health
    table.caption = (
        f"subnormal floats: {_fmt(100 * sub.subnormal_grads)}% of parameter gradients, "
        f"{_fmt(100 * sub.subnormal_trace)}% of traced norms"
    )
    return table


def _advice(d) -> Group:
    if not d.recommendations:
        return Group(Text("recommendations: none; the gradient reaches every step", style="green"))
    lines = [Text("recommendations", style="bold")]
    for r in d.recommendations:
        lines.append(Text.assemble(f" [{r.code}] ", (r.finding, "yellow"), f"\n     -> {r.advice}"))
    return Group(*lines)


def render_compare(results) -> Group:
    """The comparison: r_k at each lag per spec, then one summary row per spec."""
    eps = results[0].spec.eps
    table = Table(title="r_k = g_{T-k} / g_T by lag", title_justify="left")
    table.add_column("lag k", justify="right", no_wrap=True)
    for result in results:
        table.add_column(result.label, justify="right", overflow="fold")
    lags = sorted({lag for result in results for lag in result.lags})
    for lag in lags:
        cells = []
        for result in results:
            at = dict(zip(result.lags, result.relative, strict=True))
            cells.append(_fmt(at.get(lag)))
        table.add_row(str(lag), *cells)
    table.add_section()
    table.add_row("gamma_hat", *[_fmt(r.gamma_hat) for r in results])
    table.add_row(f"horizon (eps {_fmt(eps)})", *[_horizon(r) for r in results])
    table.add_row("verdict", *[r.verdict for r in results])
    table.add_row(
        "top Lyapunov exp.",
        *[
            _fmt(r.diagnosis.lyapunov[0].top_exponent if r.diagnosis.lyapunov else None)
            for r in results
        ],
    )
    table.add_row(
        "memory sensitivity",
        *[
            f"{_fmt(max(s.ratio for s in r.diagnosis.sensitivity))}x"
            if r.diagnosis.sensitivity
            else "-"
            for r in results
        ],
    )
    table.add_row(
        "advice",
        *["\n".join(a.code for a in r.diagnosis.recommendations) or "none" for r in results],
    )
    sentences = [Text(f"{r.label}: {r.sentence(50)}") for r in results]
    return Group(table, *sentences)


@click.command("probe")
@click.argument("specs", nargs=-1, metavar="[SPEC]...")
@click.option(
    "--compare", "compare_mode", is_flag=True, help="Compare the SPECs in one table and plot."
)
@click.option("--cell", type=click.Choice(CELL_CHOICES), default="rnn", show_default=True)
@click.option(
    "--activation",
    type=click.Choice(["tanh", "sigmoid", "relu", "leaky_relu", "prelu", "modrelu"]),
    default="tanh",
    show_default=True,
    help="RNN activation (LSTM/GRU use their own).",
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
