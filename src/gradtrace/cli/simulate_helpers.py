"""What every ``gradtrace simulate`` command shares: list options, error names, output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gradtrace.errors import InvalidValue

Drawer = Callable[[Any, Path], Path]


# ----------------------------------------------------------------------------- parsing helpers
def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def expand_lists(args: list[str], list_options: tuple[str, ...]) -> list[str]:
    """Rewrite ``--factor 0.9 0.7`` as ``--factor 0.9 --factor 0.7`` for Click's multiple=True.

    A list option takes every following token up to the next option (negative numbers are
    values, so ``--factor -1`` reaches validation and is reported as a bad factor).
    """
    out: list[str] = []
    current, taken = None, 0
    for index, token in enumerate(args):
        if token == "--":
            out.extend(args[index:])
            return out
        if current and (not token.startswith("-") or _is_number(token)):
            out.extend([current, token])
            taken += 1
            continue
        if current and taken == 0:
            out.append(current)  # no value: Click reports "requires an argument"
        current, taken = (token, 0) if token in list_options else (None, 0)
        if current is None:
            out.append(token)
    if current and taken == 0:
        out.append(current)
    return out


class ListCommand(click.Command):
    """A command whose ``list_options`` accept several space-separated values."""

    def __init__(self, *args: Any, list_options: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_options = list_options

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_lists(args, self.list_options))


@contextmanager
def as_options(names: dict[str, str]) -> Iterator[None]:
    """Re-raise the library's InvalidValue under the CLI option's name (factors -> --factor)."""
    try:
        yield
    except InvalidValue as e:
        if e.name in names:
            raise InvalidValue(names[e.name], e.value, e.allowed) from e
        raise


# --------------------------------------------------------------------------- output helpers
def emit(record: Any, *, as_json: bool, plot: Path | None, draw: Drawer) -> None:
    """Print the record (Rich table, or JSON) and write its figure when asked."""
    written = draw(record, plot) if plot is not None else None
    if as_json:
        data = record.to_dict()
        if written is not None:
            data["plot"] = str(written)
        click.echo(json.dumps(data, indent=2, allow_nan=False))
        return
    from rich.console import Console

    from gradtrace.simulate.tables import renderable

    console = Console()
    console.print(renderable(record))
    if written is not None:
        console.print(f"plot written to {written}")


def output_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--json and --plot, shared by every simulate command."""
    function = click.option(
        "--plot",
        "plot",
        type=str,
        default=None,
        metavar="FILE.png",
        help="Also write a figure (.png, .svg or .pdf).",
    )(function)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help='Print JSON {"command", "params", "results"} instead of the table.',
    )(function)
