"""MkDocs hook: the guides come from the README's sections and the tutorial from its notebook.

The README stays the one source of the guides (no copy to drift): each ``## `` section becomes a
page under ``guides/``. ``tutorial.ipynb`` becomes ``tutorial.md`` (markdown cells as they are,
code cells as Python blocks, saved text and image outputs kept); the notebook itself is copied
beside it for download. Links into ``docs/`` are rewritten to the site's paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
# README section title -> page; sections not listed (Development) stay README-only.
GUIDES = {
    "Vocabulary": "vocabulary",
    "Simulate: the theory, runnable": "simulate",
    "Trace the gradient through time of any model": "trace",
    "Models and initializations": "models",
    "Diagnose a model, probe a spec": "diagnose",
    "Long-range tasks and one training run": "train",
    "Studies: regenerate the comparison tables": "studies",
    "Claims audit": "audit",
    "Watch your own training loop: `gradtrace.Monitor`": "monitor",
    "Reports and the web lab": "reports",
    "Benchmarks": "benchmarks",
}


def readme_sections(text: str) -> tuple[str, dict[str, str]]:
    """The README's introduction (before the first section) and {section title: body}."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    intro, sections = parts[0], {}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = body
    return intro, sections


def _site_links(markdown: str, depth: int) -> str:
    """README links into docs/ point at the same files inside the site."""
    up = "../" * depth
    return re.sub(r"\]\(docs/", f"]({up}", markdown)


def notebook_markdown(path: Path) -> str:
    """A markdown page from a notebook: its cells in order, with saved text and image outputs."""
    notebook = nbformat.read(path, as_version=4)
    blocks = ["[Download this notebook](tutorial.ipynb)\n"]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            blocks.append(cell.source)
        elif cell.cell_type == "code":
            blocks.append(f"```python\n{cell.source}\n```")
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/png" in data:
                    blocks.append(f"![output](data:image/png;base64,{data['image/png']})")
                elif output.get("output_type") == "stream" or "text/plain" in data:
                    text = output.get("text") or data.get("text/plain", "")
                    blocks.append(f"```text\n{text.rstrip()}\n```")
    return "\n\n".join(blocks) + "\n"


def on_files(files: Files, config) -> Files:
    """Add the README's introduction, the guide pages and the tutorial page to the site."""
    intro, sections = readme_sections((ROOT / "README.md").read_text(encoding="utf-8"))
    quick = sections.get("Quick start", "")
    index = _site_links(intro, 0) + "## Quick start\n" + quick
    files.append(File.generated(config, "index.md", content=index))
    for title, slug in GUIDES.items():
        if title not in sections:
            raise KeyError(f"README section {title!r} is gone; update docs/hooks/pages.py")
        page = f"# {title}\n" + _site_links(sections[title], 1)
        files.append(File.generated(config, f"guides/{slug}.md", content=page))
    tutorial = Path(config["docs_dir"]) / "tutorial.ipynb"
    content = "# Tutorial\n\n" + notebook_markdown(tutorial)
    files.append(File.generated(config, "tutorial.md", content=content))
    return files
