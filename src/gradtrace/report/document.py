"""The report as plain data: sections of facts, figures and tables, rendered to HTML or PNGs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gradtrace.report.spec import FigureSpec

Tone = Literal["good", "bad", "warn", "neutral"]

# verdict -> tone of its badge (the flow vocabulary plus run statuses)
TONES: dict[str, Tone] = {
    "healthy": "good",
    "solved": "good",
    "pass": "good",
    "supported": "good",
    "vanishing": "bad",
    "exploding": "bad",
    "non-finite": "bad",
    "diverged": "bad",
    "failed": "bad",
    "fail": "bad",
    "refuted": "bad",
    "unsolved": "warn",
    "over-sensitive (curse of memory)": "warn",
    "partly": "warn",
    "mixed": "warn",
}


def tone_of(value: Any) -> Tone:
    """The badge tone of a verdict or status word (neutral when unknown)."""
    return TONES.get(str(value).strip().lower(), "neutral")


@dataclass
class Fact:
    """A labelled value shown as a small card (verdict, decay factor, horizon...)."""

    label: str
    value: str
    tone: Tone = "neutral"


@dataclass
class Table:
    """A titled table of already formatted cells."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for the web API)."""
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "note": self.note}


@dataclass
class Section:
    """One part of the report; empty sections are left out."""

    key: str
    title: str
    intro: str = ""
    facts: list[Fact] = field(default_factory=list)
    figures: list[FigureSpec] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when there is nothing to show."""
        return not (self.facts or self.figures or self.tables or self.bullets)


@dataclass
class Document:
    """A whole report: a title, a line saying what it was made from, and sections."""

    title: str
    source: str
    kind: str
    sections: list[Section] = field(default_factory=list)

    def add(self, section: Section | None) -> None:
        """Append a section unless it is empty."""
        if section is not None and not section.is_empty:
            self.sections.append(section)

    def figures(self) -> list[FigureSpec]:
        """Every figure in order of appearance."""
        return [f for s in self.sections for f in s.figures if not f.is_empty]
