"""`gradtrace study` (run a grid of training runs, resumable) and `gradtrace tables DIR`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from gradtrace.cli.choices import show_choices
from gradtrace.cli.types import max_memory_option, path
from gradtrace.errors import InvalidValue

if TYPE_CHECKING:
    from gradtrace.study.expand import RunConfig
    from gradtrace.study.spec import StudySpec


MAX_VARIANTS_SHOWN = 40
ADDRESS = re.compile(
    r"auto|(ray://)?[A-Za-z0-9_.\-]+:[0-9]{1,5}|(ray://)?\[[0-9A-Fa-f:]+\]:[0-9]{1,5}"
)


@click.command("study")
@click.option("--preset", default=None, help="a built-in study  [quick]")
@click.option(
    "--config", "config_path", type=path(dir_okay=False), default=None, help="a study TOML file"
)
@click.option(
    "--out",
    type=path(file_okay=False),
    default=None,
    help="output folder  [runs/<preset or file name>]",
)
@click.option(
    "--workers", type=click.IntRange(1, 1024), default=None, help="parallel runs  [one per core]"
)
@click.option("--executor", default="local", show_default=True, help="local | ray")
@click.option("--address", default=None, help="Ray cluster address (with --executor ray)")
@click.option("--retry-failed", is_flag=True, help="run failed runs again too")
@click.option("--dry-run", is_flag=True, help="validate and show the plan; run nothing")
@click.option("--show-config", is_flag=True, help="print the study as TOML and exit")
@max_memory_option
@click.option(
    "--search-lr",
    is_flag=True,
    help="search the learning rates (docs/protocol.md) instead of using committed ones",
)
@click.option(
    "--search-stop-after",
    type=click.IntRange(1, 8),
    default=None,
    help="with --search-lr: stop after N rungs (undecided cells: best so far, provisional)",
)
def study(
    preset: str | None,
    config_path: str | None,
    out: str | None,
    workers: int | None,
    executor: str,
    address: str | None,
    retry_failed: bool,
    dry_run: bool,
    show_config: bool,
    max_memory: int | None,
    search_lr: bool,
    search_stop_after: int | None,
) -> None:
    """Run a study: variants x tasks x lengths x seeds; rerun the same command to resume."""
    from gradtrace.study.loading import load_spec
    from gradtrace.study.presets import preset as get_preset
    from gradtrace.study.toml_out import dumps_toml
    from gradtrace.study.tune_spec import TuneSpec
    from gradtrace.study.tuning import reported_runs

    if address is not None and not ADDRESS.fullmatch(address):
        raise InvalidValue(
            "--address", address, "auto, HOST:PORT or ray://HOST:PORT of a Ray cluster"
        )
    if preset is not None and config_path is not None:
        raise InvalidValue("--config", config_path, "give either --preset or --config, not both")
    if config_path is not None:
        spec, default_out, source = load_spec(config_path), Path(config_path).stem, config_path
    else:
        name = "quick" if preset is None else preset
        spec, default_out, source = get_preset(name), name, f"preset {name}"
    if search_stop_after is not None and not search_lr:
        raise InvalidValue("--search-stop-after", search_stop_after, "only with --search-lr")
    if search_lr:
        tune = spec.tune or TuneSpec()
        tune = TuneSpec(**{**tune.model_dump(), "chosen": None, "stop_after": search_stop_after})
        spec = spec.model_copy(update={"tune": tune})
    if show_config:
        click.echo(dumps_toml(spec), nl=False)
        return
    out_dir = Path(out) if out else Path("runs") / default_out
    runs = reported_runs(spec)  # committed learning rates checked before anything runs
    from gradtrace.resources import check_memory, study_estimate
    from gradtrace.study.environment import default_workers

    slots = 1 if executor == "ray" else workers or default_workers()
    check_memory(study_estimate([r.config for r in runs], slots), max_memory)
    if dry_run:
        from gradtrace.study.runspec import validate_runs

        validate_runs(runs, source=source)
        _print_plan(spec, runs, out_dir, workers)
        return
    _run(spec, out_dir, workers, executor, address, retry_failed, source, len(runs))


def _run(
    spec: StudySpec,
    out_dir: Path,
    workers: int | None,
    executor: str,
    address: str | None,
    retry_failed: bool,
    source: str,
    total: int,
) -> None:
    from gradtrace.study.progress import RichProgress
    from gradtrace.study.runner import run_study

    err = Console(stderr=True)
    progress = RichProgress(console=err, title=spec.name)
    tune_progress = RichProgress(console=err, title=f"{spec.name}: lr search (upper bound)")
    try:
        summary = run_study(
            spec,
            out_dir,
            workers=workers,
            executor=executor,
            address=address,
            retry_failed=retry_failed,
            progress=progress,
            tune_progress=tune_progress,
            source=source,
        )
    except KeyboardInterrupt:
        done = sum(progress.counts.values())
        err.print(
            f"interrupted: {done} of {total} runs finished, kept in {out_dir}; "
            "run the same command again to resume"
        )
        sys.exit(130)
    err.print(
        f"{spec.name}: {summary.ran} runs in {summary.wall_seconds:.0f} s "
        f"({summary.skipped} already finished)"
    )
    _show_tables(out_dir)


@click.command("tables")
@click.argument("directory")
def tables(directory: str) -> None:
    """Print a study's tables from its results.sqlite and save them as CSV and JSON again."""
    from gradtrace.study.store import STORE_NAME

    if not (Path(directory) / STORE_NAME).is_file():
        raise InvalidValue("DIRECTORY", directory, f"a study folder (with {STORE_NAME})")
    _show_tables(Path(directory))


def _show_tables(out_dir: Path) -> None:
    from gradtrace.report import after_study
    from gradtrace.study.store import STORE_NAME
    from gradtrace.study.table_io import render_tables, write_tables
    from gradtrace.study.tables import study_tables

    try:
        built = study_tables(out_dir)
    except KeyError as e:  # a store whose run configs lack what gradtrace study writes
        raise InvalidValue(
            str(out_dir / STORE_NAME),
            f"a run config without {e}",
            "runs written by gradtrace study (config with model, task and train settings)",
        ) from None
    console = Console()
    if not console.is_terminal:  # files and pipes: wide enough that rows stay on one line
        console = Console(width=200)
    render_tables(built, console)
    written = write_tables(built, out_dir)
    report = after_study(out_dir)  # never raises: the results are safe in the store
    console.print(f"results: {out_dir / STORE_NAME}")
    console.print(f"tables:  {written[0].parent}/ ({', '.join(p.name for p in written)})")
    console.print(f"report:  {report}" if report else "report:  not written (see the log above)")


def _print_plan(spec: StudySpec, runs: list[RunConfig], out_dir: Path, workers: int | None) -> None:
    from gradtrace.study.environment import default_workers
    from gradtrace.study.store import FINISHED, STORE_NAME, open_store

    done = 0
    if (out_dir / STORE_NAME).is_file():
        with open_store(out_dir, readonly=True) as store:
            counts = store.counts([r.key for r in runs])
        done = sum(counts.get(s, 0) for s in FINISHED)
    variants = list(dict.fromkeys(r.variant for r in runs))
    lengths_of: dict[str, set[int]] = {}
    for r in runs:  # one pass: a 100,000-run plan prints at once
        lengths_of.setdefault(r.task, set()).add(r.seq_len)
    tasks = {task: sorted(lengths) for task, lengths in lengths_of.items()}
    slots = workers or default_workers()
    from gradtrace.study.tuning import search_size

    click.echo(f"study {spec.name}: {len(runs)} runs ({done} already finished in {out_dir})")
    if spec.description:
        click.echo(f"  {spec.description}")
    shown = ", ".join(variants[:MAX_VARIANTS_SHOWN])
    if len(variants) > MAX_VARIANTS_SHOWN:
        shown += f", ... and {len(variants) - MAX_VARIANTS_SHOWN} more"
    click.echo(f"  variants ({len(variants)}): " + shown)
    for task, lengths in tasks.items():
        click.echo(f"  task {task}: T = " + ", ".join(map(str, lengths)))
    click.echo(f"  seeds: {', '.join(map(str, spec.seeds))}")
    click.echo(
        f"  budget per run: {spec.budget.max_steps} steps (solved runs stop early); clock "
        f"cap {spec.budget.max_seconds:g} s (a run it stops is out of time); {slots} workers"
    )
    if spec.tune is not None:
        if spec.tune.chosen:
            click.echo(f"  learning rates: committed ({spec.tune.chosen}, docs/protocol.md)")
        else:
            click.echo(
                f"  learning rates: searched per cell, at most {search_size(runs, spec.tune)} "
                "tuning runs (successive halving, docs/protocol.md)"
            )


show_choices(study)  # text options list their choices in --help
