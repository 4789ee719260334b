"""The four source texts gradtrace grew from, named by their titles (never by file names)."""

from __future__ import annotations

from collections.abc import Iterable

# claim records keep the short ids ("000") as data; everything a person reads uses the titles
SOURCE_TITLES: dict[str, str] = {
    "000": "Vanishing gradients in RNNs: causes and fixes (article, Jan 17, 2026)",
    "001": "Vanishing Gradient Problem in RNNs",
    "002": "Vanishing gradients (textbook chapter on recurrent networks)",
    "003": "2.2 Vanishing & Exploding Gradients",
}
SHORT_TITLES: dict[str, str] = {
    "000": "causes-and-fixes article",
    "001": "Vanishing Gradient Problem in RNNs",
    "002": "textbook chapter",
    "003": "2.2 Vanishing & Exploding Gradients",
}


def source_label(ids: Iterable[str], *, short: bool = True) -> str:
    """The titles of the texts a claim comes from, joined by "; " (unknown ids as they are)."""
    titles = SHORT_TITLES if short else SOURCE_TITLES
    return "; ".join(titles.get(str(i), str(i)) for i in ids)
