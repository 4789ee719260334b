"""The frontier cells' own options, shared by `gradtrace probe` and `gradtrace train`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

# ModelSpec field -> the option that sets it (each only for its cell; ModelSpec says which)
FRONTIER_OPTIONS = {
    "r_min": "--r-min",
    "r_max": "--r-max",
    "max_phase": "--max-phase",
    "state_size": "--state-size",
    "horizon": "--horizon",
}


def frontier_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --r-min, --r-max, --max-phase, --state-size and --horizon (unset: the paper's)."""
    options = [
        click.option(
            "--r-min", type=float, default=None, help="lru: smallest |lambda| at init [0.9]"
        ),
        click.option(
            "--r-max", type=float, default=None, help="lru: largest |lambda| at init [0.999]"
        ),
        click.option(
            "--max-phase", type=float, default=None, help="lru: largest arg(lambda) [2 pi]"
        ),
        click.option(
            "--state-size", type=int, default=None, help="lru: N [H]; selective_ssm: N [16]"
        ),
        click.option(
            "--horizon", type=int, default=None, help="indrnn: T of |u| <= 2^(1/T) [1000]"
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def frontier_fields(options: dict[str, Any]) -> dict[str, Any]:
    """The ModelSpec fields the frontier options set (only those given)."""
    return {field: options[field] for field in FRONTIER_OPTIONS if options.get(field) is not None}
