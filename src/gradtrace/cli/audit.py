"""`gradtrace audit`: check the source texts' claims and print a verdict table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table

from gradtrace.audit.sources import source_label
from gradtrace.cli.choices import show_choices
from gradtrace.cli.types import path
from gradtrace.terminal import progress_columns

VERDICT_STYLE = {
    "confirmed": "green",
    "refuted": "red",
    "nuanced": "yellow",
    "not tested at this budget": "cyan",
    "untestable here": "dim",
    "error": "bold red",
}


class AuditBar:
    """A transient Rich progress bar on stderr: training runs, then claims."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            *progress_columns("done", TextColumn("{task.fields[note]}")),
            console=console,
            transient=True,
        )
        self._runs: Any = None
        self._claims: Any = None

    def __enter__(self) -> AuditBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def runs_started(self, total: int, done: int) -> None:
        """Show the training runs (those already stored count as done)."""
        self._runs = self._progress.add_task(
            "training runs", total=total, completed=done, note=f"{done} reused"
        )

    def run_finished(self, row: dict[str, Any]) -> None:
        """Advance by one finished run."""
        note = f"{row.get('variant')} T={row.get('seq_len')}: {row.get('status')}"
        self._progress.update(self._runs, advance=1, note=note)

    def claims_started(self, total: int) -> None:
        """Show the claims."""
        self._claims = self._progress.add_task("claims", total=total, note="")

    def claim_finished(self, result: Any) -> None:
        """Advance by one checked claim."""
        self._progress.update(self._claims, advance=1, note=f"{result.id}: {result.verdict}")


def verdict_table(results: list[Any]) -> Table:
    """The printed table: claim id, source texts (by title), coloured verdict, evidence."""
    table = Table(title="Claims audit", show_lines=False, expand=True)
    table.add_column("claim", style="bold", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("verdict", min_width=9)
    table.add_column("evidence", ratio=3)
    for r in results:
        style = VERDICT_STYLE.get(r.verdict, "")
        evidence = r.summary + (f" [dim](needs {r.needs})[/]" if r.needs else "")
        table.add_row(r.id, source_label(r.seeds), f"[{style}]{r.verdict}[/]", evidence)
    return table


def after_audit(out_dir: Path, err: Console) -> Path | None:
    """Write the report through gradtrace.report.after_audit when it exists (one line on error)."""
    try:
        import gradtrace.report as report

        hook = getattr(report, "after_audit", None)
    except ImportError:
        return None
    if hook is None:
        return None
    try:
        path = hook(out_dir)
    except Exception as e:  # the results are stored already; the report is extra
        err.print(f"report: not written ({type(e).__name__}: {' '.join(str(e).split())})")
        return None
    return None if path is None else Path(path)


@click.command("audit")
@click.option("--budget", default="quick", show_default=True, help="quick | standard | full")
@click.option(
    "--claim", "claims", multiple=True, help="check only this claim id (repeatable; --list)"
)
@click.option(
    "--out",
    type=path(file_okay=False),
    default="runs/audit",
    show_default=True,
    help="output folder",
)
@click.option("--study", default=None, help="a study folder whose finished runs to reuse")
@click.option(
    "--workers",
    type=click.IntRange(1, 1024),
    default=None,
    help="training processes  [one per core]",
)
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
@click.option("--list", "list_only", is_flag=True, help="list the claims and exit")
def audit(
    budget: str,
    claims: tuple[str, ...],
    out: str,
    study: str | None,
    workers: int | None,
    as_json: bool,
    list_only: bool,
) -> None:
    """Check every factual claim of the source texts by simulation, measurement and training."""
    from gradtrace.audit.budget import get_budget
    from gradtrace.audit.registry import CLAIMS, select
    from gradtrace.audit.runner import AUDIT_JSON, run_audit
    from gradtrace.errors import InvalidValue
    from gradtrace.study.store import STORE_NAME

    plan = get_budget(budget)
    selected = select(claims or None)
    if study is not None and not (Path(study) / STORE_NAME).is_file():
        raise InvalidValue("--study", study, f"a study folder (with {STORE_NAME})")
    if study is not None:  # read it through its schema now: a broken store is refused first
        from gradtrace.study.store import open_store

        with open_store(study, readonly=True) as store:
            store.rows()
    if list_only:
        _print_claims([CLAIMS[c.id] for c in selected])
        return
    out_dir = Path(out)
    err = Console(stderr=True)
    with AuditBar(err) as bar:
        report = run_audit(
            budget=plan,
            claims=[c.id for c in selected],
            out_dir=out_dir,
            study_dir=study,
            workers=workers,
            progress=bar,
        )
    report_path = after_audit(out_dir, err)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    console = Console()
    if not console.is_terminal:  # a file or a pipe: keep each row on one line where it fits
        console = Console(width=200)
    console.print(verdict_table(report.results))
    counts = ", ".join(f"{n} {verdict}" for verdict, n in report.counts().items())
    runs = report.runs
    kept = runs["total"] - runs["reused_from_study"] - runs["trained"]
    console.print(
        f"{len(report.results)} claims at budget {report.budget}: {counts}; "
        f"{runs['total']} training runs ({kept} already in --out, {runs['reused_from_study']} "
        f"reused from --study, {runs['trained']} trained now) in {report.wall_seconds:.0f} s"
    )
    console.print(f"results: {out_dir / STORE_NAME} (kind 'audit'), {out_dir / AUDIT_JSON}")
    if report_path is not None:
        console.print(f"report:  {report_path}")


def _print_claims(claims: list[Any]) -> None:
    table = Table(title="Claims", expand=True)
    for column in ("claim", "source", "theme", "what it says"):
        table.add_column(column, no_wrap=column != "what it says")
    for c in claims:
        table.add_row(c.id, source_label(c.seeds), c.theme, c.text)
    Console().print(table)


show_choices(audit)  # text options list their choices in --help
