"""Errors name the field, the value and what is allowed; the CLI turns them into one line."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from gradtrace.cli import main as cli_main
from gradtrace.errors import InvalidValue, check, check_choice, from_pydantic


def test_invalid_value_message_is_one_line_with_name_value_and_allowed():
    error = InvalidValue("--factor", -1.0, "must be > 0")
    assert str(error) == "--factor: -1.0 is not allowed; must be > 0"
    assert isinstance(error, ValueError)


def test_check_choice_lists_the_choices():
    with pytest.raises(InvalidValue, match="choose one of rnn, lstm, gru"):
        check_choice("cell", "lstmm", ["rnn", "lstm", "gru"])
    check(True, "x", 1, "anything")


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    hidden_size: int


def test_pydantic_errors_become_one_line_naming_the_field():
    with pytest.raises(ValidationError) as info:
        _Spec(hidden_size="big")
    message = str(from_pydantic(info.value, prefix="model"))
    assert message.startswith("model.hidden_size: 'big' is not allowed;")
    assert "\n" not in message


def test_unknown_keys_are_named():
    with pytest.raises(ValidationError) as info:
        _Spec(hidden_size=1, hiden=2)
    assert str(from_pydantic(info.value)) == "hiden: 2 is not allowed; unknown key"


def test_cli_turns_library_errors_into_one_line_and_exit_2(monkeypatch, capsys):
    @click.command()
    def broken() -> None:
        raise InvalidValue("--hidden", 0, "must be >= 1")

    monkeypatch.setitem(cli_main.COMMANDS, "broken", "tests_fake:broken")
    monkeypatch.setitem(sys.modules, "tests_fake", type(sys)("tests_fake"))
    sys.modules["tests_fake"].broken = broken
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["broken"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "error: --hidden: 0 is not allowed; must be >= 1\n"


def test_unknown_command_is_one_line_exit_2():
    done = subprocess.run(
        [sys.executable, "-m", "gradtrace.cli.main", "nosuch"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "nosuch" in done.stderr
    assert "Traceback" not in done.stderr


def test_version_and_help_exit_0():
    done = subprocess.run(
        [sys.executable, "-m", "gradtrace.cli.main", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "recurrent" in done.stdout
