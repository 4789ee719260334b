"""Click parameter types of the CLI that refuse what Click lets through (an empty path)."""

from __future__ import annotations

from typing import Any

import click


class NonEmptyPath(click.Path):
    """A click.Path that refuses '' and blank names (``--out ''`` would write to the cwd)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error naming the option when it is empty."""
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r} is not a valid path.", param, ctx)
        if isinstance(value, str) and "\x00" in value:
            self.fail(f"{value!r} is not a valid path without NUL characters.", param, ctx)
        return super().convert(value, param, ctx)


def path(**options: Any) -> NonEmptyPath:
    """A NonEmptyPath with click.Path's options."""
    return NonEmptyPath(**options)


class MemorySize(click.ParamType):
    """A size in bytes written like 8GB, 512MB or 2000000000."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Bytes as an int; a bad size is a one-line error naming the option."""
        from gradtrace.resources import parse_bytes

        if isinstance(value, int):
            return value
        return parse_bytes(str(value), name="--max-memory")


def max_memory_option(function: Any) -> Any:
    """The --max-memory option: refuse work estimated to need more (default: available)."""
    return click.option(
        "--max-memory",
        type=MemorySize(),
        default=None,
        help="Refuse work estimated to need more memory than this (e.g. 8GB) "
        "[default: what the machine has available].",
    )(function)
