"""Render a Document as ONE self-contained HTML file: CSS, plotly.js (once) and figures inline."""

from __future__ import annotations

import html
import json
import math
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gradtrace.report.document import Document, Section, Table, tone_of
from gradtrace.report.render_plotly import to_plotly_json

_BADGE_COLUMNS = ("verdict", "status", "result", "outcome", "solved")

_DRAW_ALL = """
document.querySelectorAll('script.gt-figure').forEach(function (el) {
  var fig = JSON.parse(el.textContent);
  Plotly.newPlot(el.dataset.target, fig.data, fig.layout,
                 {responsive: true, displaylogo: false});
});
"""


@cache
def plotly_js() -> str:
    """The plotly.min.js bundled with the plotly package (no network needed)."""
    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text("utf-8")


@cache
def report_css() -> str:
    """The report's stylesheet."""
    return (resources.files("gradtrace.report") / "templates" / "report.css").read_text("utf-8")


def fmt(value: Any) -> str:
    """A table cell as text: floats to 4 significant digits, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _cell(column: str, value: Any) -> str:
    text = html.escape(fmt(value))
    tone = tone_of(value)
    if tone != "neutral" and any(word in column.lower() for word in _BADGE_COLUMNS):
        return f'<span class="badge {tone}">{text}</span>'
    return text


def table_html(table: Table) -> str:
    """One table with an optional title and note."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{_cell(c, v)}</td>" for c, v in zip(table.columns, row, strict=False))
        + "</tr>"
        for row in table.rows
    )
    title = f"<h3>{html.escape(table.title)}</h3>" if table.title else ""
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f'{title}<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{note}"
    )


def _json_script(data: Any, target: str) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (
        f'<script type="application/json" class="gt-figure" data-target="{target}">{text}</script>'
    )


def section_html(section: Section) -> str:
    """A section: heading, intro, fact cards, figures, tables and bullet points."""
    parts = [f'<section id="{html.escape(section.key)}"><h2>{html.escape(section.title)}</h2>']
    if section.intro:
        parts.append(f'<p class="intro">{html.escape(section.intro)}</p>')
    if section.facts:
        cards = "".join(
            f'<div class="fact {f.tone}"><div class="label">{html.escape(f.label)}</div>'
            f'<div class="value">{html.escape(f.value)}</div></div>'
            for f in section.facts
        )
        parts.append(f'<div class="facts">{cards}</div>')
    for fig in section.figures:
        if fig.is_empty:
            continue
        target = f"fig-{section.key}-{fig.key}"
        parts.append(f'<div class="figure" id="{html.escape(target)}"></div>')
        parts.append(_json_script(to_plotly_json(fig), target))
        if fig.note:
            parts.append(f'<p class="note">{html.escape(fig.note)}</p>')
    parts.extend(table_html(t) for t in section.tables)
    if section.bullets:
        items = "".join(f"<li>{html.escape(b)}</li>" for b in section.bullets)
        parts.append(f'<ul class="bullets">{items}</ul>')
    parts.append("</section>")
    return "\n".join(parts)


def render_html(doc: Document) -> str:
    """The whole report as one HTML string that opens offline."""
    from gradtrace import __version__

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(
        f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in doc.sections
    )
    body = "\n".join(section_html(s) for s in doc.sections)
    has_figures = bool(doc.figures())
    scripts = f"<script>{plotly_js()}</script>\n<script>{_DRAW_ALL}</script>" if has_figures else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gradtrace {__version__}">
<title>{html.escape(doc.title)} - gradtrace report</title>
<style>{report_css()}</style></head>
<body>
<header class="top"><h1><span class="brand">gradtrace</span> report: {html.escape(doc.title)}</h1>
<p>{html.escape(doc.kind)}: {html.escape(doc.source)} &middot; written {when}
 &middot; gradtrace {__version__}</p></header>
<nav class="toc">{toc}</nav>
<main>
{body}
</main>
<footer>Made with gradtrace {__version__}. Charts: drag to zoom, double-click to reset,
click a legend entry to hide or show a series.</footer>
{scripts}
</body></html>
"""


def write_html(doc: Document, out: str | Path) -> Path:
    """Write the report HTML to `out` (parent folders created) and return the path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(doc), encoding="utf-8")
    return path
