"""`gradtrace train`: train one model on one task with a progress bar and print the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gradtrace import defaults
from gradtrace.cli.choices import show_choices
from gradtrace.cli.frontier_options import FRONTIER_OPTIONS, frontier_fields, frontier_options
from gradtrace.cli.types import max_memory_option, path
from gradtrace.errors import InvalidValue

# spec field -> the option that sets it, so that errors name what the user typed
_OPTION_OF: dict[str, str] = {
    **FRONTIER_OPTIONS,
    "cell": "--cell",
    "activation": "--activation",
    "hidden_size": "--hidden",
    "num_layers": "--layers",
    "init": "--init",
    "init_scale": "--init-scale",
    "forget_bias": "--forget-bias",
    "readout": "--readout",
    "model.readout": "--readout",
    "backend": "--backend",
    "dropout": "--dropout",
    "name": "--task",
    "seq_len": "--seq-len",
    "symbols": "--symbols",
    "recall": "--recall",
    "alphabet": "--alphabet",
    "optimizer": "--optimizer",
    "lr": "--lr",
    "momentum": "--momentum",
    "batch_size": "--batch-size",
    "clip": "--clip",
    "clip_value": "--clip-value",
    "tbptt": "--tbptt",
    "vanishing_reg": "--vanishing-reg",
    "max_steps": "--max-steps",
    "max_seconds": "--max-seconds",
    "eval_every": "--eval-every",
    "eval_batch_size": "--eval-batch-size",
    "seed": "--seed",
    "threads": "--threads",
    "device": "--device",
}


@click.command("train")
@click.option(
    "--cell",
    default="lstm",
    show_default=True,
    help="rnn | lstm | gru | indrnn | exprnn | lru | mingru | minlstm | selective_ssm",
)
@click.option(
    "--activation",
    default=None,
    help="rnn or exprnn activation; default: the cell's own (modrelu for exprnn, else tanh)",
)
@click.option("--hidden", type=int, default=64, show_default=True, help="hidden size H")
@click.option("--layers", type=int, default=1, show_default=True, help="stacked layers")
@click.option("--init", default="default", show_default=True, help="initializer name")
@click.option("--init-scale", type=float, default=None, help="rho / std / t_max of the init")
@frontier_options
@click.option(
    "--forget-bias",
    type=float,
    default=None,
    help=f"LSTM/GRU gate bias after init  [LSTM: {defaults.LSTM_FORGET_BIAS:g}, else torch's]",
)
@click.option("--readout", default="last", show_default=True, help="last | attention")
@click.option("--residual", is_flag=True, help="residual connections between layers")
@click.option("--layer-norm", is_flag=True, help="layer-normalised cells")
@click.option("--dropout", type=float, default=0.0, show_default=True, help="between layers")
@click.option("--backend", default="auto", show_default=True, help="auto | fused | loop")
@click.option("--task", default="adding", show_default=True, help="task name")
@click.option("--seq-len", type=int, default=None, help="steps per sequence [task default]")
@click.option("--symbols", type=int, default=None, help="temporal_order: 2 or 3")
@click.option("--recall", type=int, default=None, help="copy: symbols to recall [10]")
@click.option("--alphabet", type=int, default=None, help="copy: alphabet size [8]")
@click.option("--optimizer", default="adam", show_default=True, help="adam | rmsprop | sgd")
@click.option("--lr", type=float, default=defaults.LR, show_default=True, help="learning rate")
@click.option("--momentum", type=float, default=0.0, show_default=True, help="sgd/rmsprop")
@click.option("--batch-size", type=int, default=defaults.BATCH_SIZE, show_default=True)
@click.option("--clip", default="none", show_default=True, help="none | norm | value")
@click.option("--clip-value", type=float, default=1.0, show_default=True, help="threshold")
@click.option("--tbptt", type=int, default=None, help="truncate backprop to this many steps")
@click.option(
    "--vanishing-reg",
    type=float,
    default=0.0,
    show_default=True,
    help="weight of Pascanu et al. (2013)'s vanishing-gradient regularizer (simple RNNs)",
)
@click.option("--max-steps", type=int, default=1000, show_default=True)
@click.option(
    "--max-seconds",
    type=float,
    default=None,
    help='wall-clock safety cap; a run it stops is "out_of_time"',
)
@click.option("--eval-every", type=int, default=50, show_default=True)
@click.option("--eval-batch-size", type=int, default=defaults.EVAL_BATCH_SIZE, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--profiles/--no-profiles", default=True, show_default=True)
@click.option("--threads", type=int, default=None, help="torch threads (default: torch's own)")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda")
@click.option("--json", "as_json", is_flag=True, help="print the record as JSON")
@click.option("--out", type=path(dir_okay=False), default=None, help="save record JSON")
@max_memory_option
def train(max_memory: int | None, **options: Any) -> None:
    """Train one model on one long-range task and print the run record."""
    from gradtrace.resources import check_memory, train_estimate
    from gradtrace.training import train as run_training

    model, task, spec = _specs(options)
    check_memory(train_estimate(model, _length(task), spec), max_memory)
    with _Progress(enabled=not options["as_json"], max_steps=spec.max_steps) as progress:
        record = run_training(model, task, spec, on_step=progress.update, keep_on_interrupt=True)
    data = record.to_dict()
    if options["out"]:
        path = Path(options["out"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, allow_nan=False, indent=1))
    if options["as_json"]:
        click.echo(json.dumps(data, allow_nan=False))
    else:
        _print_table(record, saved=options["out"])
    if record.status == "failed":
        click.echo(f"error: run failed: {record.error}", err=True)
        raise SystemExit(130 if (record.error or "").startswith("KeyboardInterrupt") else 1)


def _specs(options: dict[str, Any]):
    """Validate the options into (ModelSpec, TaskSpec, TrainSpec), errors naming the option."""
    from gradtrace.models import ModelSpec
    from gradtrace.tasks import TaskSpec, make_task
    from gradtrace.training import TrainSpec
    from gradtrace.training.setup import check_compatible

    o = options
    try:
        model = ModelSpec(
            cell=o["cell"], activation=o["activation"], hidden_size=o["hidden"],
            num_layers=o["layers"], init=o["init"], init_scale=o["init_scale"],
            forget_bias=defaults.forget_bias_for(o["cell"], o["forget_bias"], o["init"]),
            readout=o["readout"], residual=o["residual"],
            layer_norm=o["layer_norm"], dropout=o["dropout"], backend=o["backend"],
            **frontier_fields(o),
        )  # fmt: skip
        task_options = {k: o[k] for k in ("seq_len", "symbols", "recall", "alphabet")}
        task = TaskSpec(name=o["task"], **{k: v for k, v in task_options.items() if v is not None})
        spec = TrainSpec(
            optimizer=o["optimizer"], lr=o["lr"], momentum=o["momentum"],
            batch_size=o["batch_size"], clip=o["clip"], clip_value=o["clip_value"],
            tbptt=o["tbptt"], vanishing_reg=o["vanishing_reg"],
            max_steps=o["max_steps"], max_seconds=o["max_seconds"],
            eval_every=o["eval_every"], eval_batch_size=o["eval_batch_size"], seed=o["seed"],
            profiles=o["profiles"], threads=o["threads"], device=o["device"],
        )  # fmt: skip
        check_compatible(model, make_task(task), spec)
    except InvalidValue as e:
        raise InvalidValue(_OPTION_OF.get(e.name, e.name), e.value, e.allowed) from None
    return model, task, spec


def _length(task: Any) -> int:
    """The number of steps the model reads in the task (its default when unset)."""
    from gradtrace.tasks import make_task

    made = make_task(task)
    return int(getattr(made, "seq_len", None) or task.seq_len or 1)


class _Progress:
    """A Rich progress bar on stderr (step, loss, metric, ETA) fed by the trainer's on_step."""

    def __init__(self, *, enabled: bool, max_steps: int) -> None:
        from rich.console import Console
        from rich.progress import Progress, TextColumn

        from gradtrace.terminal import progress_columns

        console = Console(stderr=True)
        self._bar = Progress(
            *progress_columns(
                "steps", TextColumn("loss {task.fields[loss]}  metric {task.fields[metric]}")
            ),
            console=console,
            disable=not (enabled and console.is_terminal),
            transient=True,
        )
        self._task = self._bar.add_task("train", total=max_steps, loss="-", metric="-")

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def update(self, progress: Any) -> None:
        """Show one step's numbers."""
        self._bar.update(
            self._task,
            completed=progress.step,
            loss=_num(progress.loss),
            metric=_num(progress.metric),
        )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print_table(record: Any, *, saved: str | None) -> None:
    """The record's headline numbers as a Rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{record.model_spec['cell']} on {record.task_spec['name']}: {record.status}"
    )
    table.add_column("quantity")
    table.add_column("value", justify="right")
    pre, post = record.grad_norm_pre, record.grad_norm_post
    rows = [
        ("status", record.status),
        ("steps", str(record.steps)),
        ("steps to solve", str(record.steps_to_solve or "-")),
        (f"held-out {record.metric_name}", _num(record.metric)),
        (f"best {record.metric_name}", _num(record.best_metric)),
        ("chance baseline", _num(record.baseline)),
        ("final training loss", _num(record.final_loss)),
        ("grad norm before clip (median / max)", f"{_num(pre['median'])} / {_num(pre['max'])}"),
        ("grad norm after clip (median / max)", f"{_num(post['median'])} / {_num(post['max'])}"),
        ("clip rate", _num(record.clip_rate)),
        ("parameters", str(record.n_params)),
        ("wall time (s)", f"{record.wall_time_s:.2f}"),
        ("time per step (ms)", _num((record.time_per_step_s or 0) * 1e3)),
        ("peak memory (MB)", _num(record.peak_memory_mb)),
    ]
    for when, entry in (record.profiles or {}).items():
        rows.append((f"gradient profile ({when}, step {entry['step']})", _verdict(entry)))
    if saved:
        rows.append(("saved to", saved))
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


def _verdict(entry: dict[str, Any]) -> str:
    """The verdict of a stored profile, or its error."""
    if "error" in entry:
        return "unavailable: " + entry["error"]
    try:
        from gradtrace.tracing import GradientProfile

        profile = GradientProfile.from_dict(entry["profile"])
        horizons = [layer.horizon() for layer in profile.layers]
        known = [h for h in horizons if h is not None]
        reach = f"horizon {min(known)}" if known else "horizon beyond T"
        return f"{profile.verdict()} ({reach})"
    except Exception as e:  # an old or foreign profile format: say so, do not fail the command
        return f"unreadable ({type(e).__name__})"


show_choices(train)  # --cell [rnn|lstm|gru], ... in --help
