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
        return super().convert(value, param, ctx)


def path(**options: Any) -> NonEmptyPath:
    """A NonEmptyPath with click.Path's options."""
    return NonEmptyPath(**options)
