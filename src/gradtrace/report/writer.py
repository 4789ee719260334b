"""write_report: one result on disk -> one offline HTML file (and PNGs); hooks for study/audit."""

from __future__ import annotations

import logging
from pathlib import Path

from gradtrace.errors import InvalidValue
from gradtrace.report.html import write_html
from gradtrace.report.render_png import to_png
from gradtrace.report.sources import load_document

REPORT_NAME = "report.html"
log = logging.getLogger(__name__)


def default_out(path: Path) -> Path:
    """report.html inside a folder; next to a file as <stem>.html."""
    return path / REPORT_NAME if path.is_dir() else path.with_suffix(".html")


def write_report(
    path: str | Path,
    *,
    out: str | Path | None = None,
    png_dir: str | Path | None = None,
    figure_format: str = "png",
) -> Path:
    """Write the HTML report of a study/audit folder, probe JSON, run JSON or monitor JSONL.

    Args:
        path: the result to report on.
        out: the HTML file to write (default: report.html in a folder, <name>.html by a file).
        png_dir: also write every figure as <png_dir>/<section>-<figure>.<format> (matplotlib).
        figure_format: png (200 dpi), svg or pdf.

    Returns:
        The path of the HTML file.
    """
    from gradtrace.plotting import FORMATS

    if figure_format not in FORMATS:
        raise InvalidValue("figure_format", figure_format, "one of " + ", ".join(FORMATS))
    source = Path(path)
    doc = load_document(source)
    target = Path(out) if out is not None else default_out(source)
    write_html(doc, target)
    if png_dir is not None:
        folder = Path(png_dir)
        for section in doc.sections:
            for fig in section.figures:
                if not fig.is_empty:
                    to_png(fig, folder / f"{section.key}-{fig.key}.{figure_format}")
    return target


def after_study(out_dir: str | Path) -> Path | None:
    """Hook for `gradtrace study`: write report.html into the study folder.

    A failure to draw never loses the study's results: it is logged and None is returned.
    """
    try:
        return write_report(out_dir, out=Path(out_dir) / REPORT_NAME)
    except Exception as e:  # the results are safe in results.sqlite whatever happens here
        log.warning("could not write the report of %s: %s", out_dir, e)
        return None


def after_audit(out_dir: str | Path) -> Path | None:
    """Hook for `gradtrace audit`: write report.html (with the claims audit) into its folder."""
    return after_study(out_dir)
