"""`gradtrace report`: one self-contained HTML file (and optional figures) from a result on disk."""

from __future__ import annotations

from pathlib import Path

import click

from gradtrace.cli.types import path


@click.command()
@click.argument("path", type=path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=path(dir_okay=False, path_type=Path),
    default=None,
    help="HTML file to write [default: report.html in a folder, PATH.html by a file].",
)
@click.option(
    "--figures",
    "--png",
    "png_dir",
    type=path(file_okay=False, path_type=Path),
    default=None,
    help="Also write every figure into this folder (--png is the same option).",
)
@click.option(
    "--format",
    "figure_format",
    type=click.Choice(["png", "svg", "pdf"]),
    default="png",
    show_default=True,
    help="Figure format for --figures: png at 200 dpi, svg or pdf (vector).",
)
def report(path: Path, out: Path | None, png_dir: Path | None, figure_format: str) -> None:
    """Write the report of PATH: a study or audit folder, a probe JSON or a monitor JSONL."""
    from gradtrace.errors import InvalidValue
    from gradtrace.report.writer import write_report

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise InvalidValue("--out", str(out), "an HTML file name ending in .html")
    written = write_report(path, out=out, png_dir=png_dir, figure_format=figure_format)
    size = written.stat().st_size / 1e6
    click.echo(f"report: {written} ({size:.1f} MB, opens offline)")
    if png_dir is not None:
        count = len(list(png_dir.glob(f"*.{figure_format}")))
        click.echo(f"figures: {count} {figure_format.upper()} files in {png_dir}")
