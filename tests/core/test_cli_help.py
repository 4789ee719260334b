"""`--help` is fast (no torch), lists choices, and matches the specs and registries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import typing

import click
import pytest

from gradtrace.cli.choices import CHOICES
from gradtrace.cli.main import cli

COMMANDS = [[], ["study"], ["probe"], ["train"], ["simulate"], ["audit"], ["report"], ["serve"]]
HEAVY = ("torch", "numpy", "matplotlib", "plotly", "scipy", "pydantic", "fastapi")


def test_help_of_every_command_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from gradtrace.cli.main import cli\n"
        f"for args in {COMMANDS!r}:\n"
        "    try:\n"
        "        cli.main(args=args + ['--help'], prog_name='gradtrace', standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args", [[], ["study"]])
def test_help_answers_in_under_half_a_second(args):
    """Best of three wall times, with slack for a busy 2-core machine (typically ~0.15 s)."""
    command = [sys.executable, "-m", "gradtrace.cli.main", *args, "--help"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - start)
    assert min(times) < 1.0  # 0.5 s on a quiet machine; CI cores are shared


def _literal(model, field):
    return tuple(typing.get_args(model.model_fields[field].annotation))


def test_the_listed_choices_match_the_specs_and_registries():
    from gradtrace.audit.budget import BUDGETS
    from gradtrace.init import INITIALIZERS
    from gradtrace.models.spec import ModelSpec
    from gradtrace.study.presets import PRESETS
    from gradtrace.tasks import TASKS
    from gradtrace.training.spec import TrainSpec

    for field in ("cell", "activation", "readout", "backend"):
        assert CHOICES[field] == _literal(ModelSpec, field)
    for field in ("optimizer", "clip", "device"):
        assert CHOICES[field] == _literal(TrainSpec, field)
    assert CHOICES["init"] == tuple(INITIALIZERS)
    assert CHOICES["task"] == tuple(TASKS)
    assert set(CHOICES["preset"]) == set(PRESETS)
    assert set(CHOICES["budget"]) == set(BUDGETS)


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("train", "one of: rnn, lstm, gru, indrnn"),
        ("train", "--optimizer [adam|rmsprop|sgd]"),
        ("train", "one of: adding, copy"),
        ("probe", "--cell [rnn|lstm|gru|indrnn|exprnn|lru|mingru|minlstm|selective_ssm]"),
        ("study", "one of: quick, standard, ablations, full, long, frontier, frontier_long"),
        ("audit", "--budget [quick|standard|full]"),
        ("report", "--format [png|svg|pdf]"),
    ],
)
def test_choice_options_list_their_choices_in_help(command, shown):
    sub = cli.get_command(click.Context(cli), command)
    text = " ".join(sub.get_help(click.Context(sub, info_name=command)).split())
    assert shown in text
