"""Progress of a study: a silent default and a Rich bar with ETA and live outcome counts."""

from __future__ import annotations

from typing import Any, Protocol

from rich.console import Console
from rich.progress import Progress, TextColumn

from gradtrace.terminal import progress_columns

OUTCOMES = ("solved", "unsolved", "out_of_time", "failed", "diverged")
_STYLE = {
    "solved": "green",
    "unsolved": "yellow",
    "out_of_time": "cyan",
    "diverged": "magenta",
    "failed": "red",
}


class StudyProgress(Protocol):
    """What the runner reports to: the start, each finished run, the end."""

    def start(self, *, total: int, done: int, counts: dict[str, int]) -> None: ...

    def update(self, row: dict[str, Any]) -> None: ...

    def stop(self) -> None: ...


class NullProgress:
    """Reports nothing (the library default)."""

    def start(self, *, total: int, done: int, counts: dict[str, int]) -> None:
        """Ignore the start."""

    def update(self, row: dict[str, Any]) -> None:
        """Ignore a finished run."""

    def stop(self) -> None:
        """Ignore the end."""


class RichProgress:
    """A Rich progress bar: runs done / total, elapsed, ETA, and solved/unsolved/failed/diverged."""

    def __init__(self, *, console: Console | None = None, title: str = "study") -> None:
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self._title = title
        self._progress = Progress(
            *progress_columns("runs", TextColumn("{task.fields[counts]}")),
            console=console,
            speed_estimate_period=600,
        )
        self._task: Any = None

    def start(self, *, total: int, done: int, counts: dict[str, int]) -> None:
        """Show the bar with the runs already finished by earlier invocations."""
        self.counts.update({k: counts.get(k, 0) for k in OUTCOMES})
        self._progress.start()
        self._task = self._progress.add_task(
            self._title, total=total, completed=done, counts=self._text()
        )

    def update(self, row: dict[str, Any]) -> None:
        """Count one finished run."""
        status = row.get("status", "failed")
        self.counts[status] = self.counts.get(status, 0) + 1
        self._progress.update(self._task, advance=1, counts=self._text())

    def stop(self) -> None:
        """Leave the final bar on screen."""
        self._progress.stop()

    def _text(self) -> str:
        return "  ".join(f"[{_STYLE[k]}]{k} {self.counts[k]}[/]" for k in OUTCOMES)
