"""Hundreds of bad command lines, run in-process: each exits 2 with one line, none hangs."""

from __future__ import annotations

import pytest
from cli_corpus import cli_cases
from click.testing import CliRunner
from guard import Hang, time_limit

from gradtrace.cli.main import cli

CASES = cli_cases()


def test_the_corpus_is_large():
    assert len(CASES) >= 300


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One scratch working folder for the module: nothing a case writes lands in the checkout."""
    return tmp_path_factory.mktemp("cli-fuzz")


@pytest.mark.parametrize(("case", "argv"), CASES, ids=[c for c, _ in CASES])
def test_a_bad_command_line_is_one_line_and_exit_2(case, argv, scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    try:
        with time_limit(20):
            result = CliRunner().invoke(cli, argv)
    except Hang:
        pytest.fail(f"{case}: hang")
    assert not isinstance(result.exception, Hang), f"{case}: hang"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case}: {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output
    assert result.exit_code == 2, f"{case}: exit {result.exit_code}: {result.output[-300:]}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert " is not allowed; " in lines[0], lines[0]
