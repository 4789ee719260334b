"""One line for every CLI error, Click's included: ``<name>: <value> is not allowed; <allowed>``."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

import click

from gradtrace.errors import InvalidValue

# Click's messages for a bad value ("'x' is not one of 'a', 'b'.", "0 is not in the range
# 1<=x<=64.", "'abc' is not a valid integer.") -> what is allowed
_BAD_VALUE = re.compile(
    r"^(?P<value>.*?) is not (?P<what>one of|in the range|a valid) (?P<rest>.*?)\.?$"
)
_ALLOWED = {
    "one of": "choose one of {}",
    "in the range": "must be in {}",
    "a valid": "must be {}",
}
_KINDS = {"integer": "an integer", "integer range": "an integer", "float": "a number"}
_KINDS |= {"float range": "a number", "boolean": "true or false", "path": "a non-empty path"}
_KINDS["path without NUL characters"] = "a path without NUL characters"


def _shown(text: str) -> object:
    """A value typed on the command line, shown as a number when it reads as one."""
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if str(number) == text else text
    return text


def raw_value(args: Sequence[str], opts: Sequence[str]) -> str | None:
    """The text given for an option on the command line (``--x v`` or ``--x=v``), if any."""
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1 :]
    return None


def _param_name(param: click.Parameter | None) -> str:
    if param is None:
        return "value"
    opts = getattr(param, "opts", None) or []
    if opts and isinstance(param, click.Option):
        return max(opts, key=len)
    return (param.human_readable_name or param.name or "value").upper()


def usage_line(error: click.UsageError, args: Sequence[str] = ()) -> str:
    """The one-line form of a Click usage error, naming the option and the value given."""
    message = " ".join(error.format_message().split())
    if isinstance(error, click.MissingParameter):
        name = _param_name(error.param)
        return str(InvalidValue(name, "(missing)", "a value is required"))
    if isinstance(error, click.BadParameter):
        name = _param_name(error.param)
        given = raw_value(args, getattr(error.param, "opts", []) or [])
        found = _BAD_VALUE.match(error.message or "")
        if found:
            rest = found["rest"]
            if found["what"] == "a valid":
                rest = _KINDS.get(rest, f"a valid {rest}")
            allowed = _ALLOWED[found["what"]].format(rest)
            value = given if given is not None else found["value"].strip("'")
            return str(InvalidValue(name, _shown(value), allowed))
        return str(InvalidValue(name, given if given is not None else "(given)", message))
    if isinstance(error, click.NoSuchOption):
        allowed = "unknown option"
        if error.possibilities:
            allowed += "; did you mean " + " or ".join(sorted(error.possibilities)) + "?"
        command = error.ctx.command_path if error.ctx else "gradtrace"
        return str(InvalidValue(command, error.option_name, allowed + " (see --help)"))
    if isinstance(error, click.BadOptionUsage):
        if "requires an argument" in message or ("requires" in message and "argument" in message):
            return str(InvalidValue(error.option_name, "(missing)", "a value is required"))
        if "does not take a value" in message:
            return str(InvalidValue(error.option_name, "a value", "a flag takes no value"))
        return str(InvalidValue(error.option_name, "(given)", message))
    found = re.match(r"No such command '(.*)'\.?", message)
    if found:
        from gradtrace.cli.main import COMMANDS

        return str(
            InvalidValue("command", found[1], "choose one of " + ", ".join(sorted(COMMANDS)))
        )
    found = re.match(r"Got unexpected extra arguments? \((.*)\)", message)
    if found:
        return str(InvalidValue("argument", found[1], "this command takes no more arguments"))
    if " is not allowed; " in message:
        return message
    return str(InvalidValue("usage", " ".join(args) or "(none)", message))


def library_line(error: BaseException) -> str:
    """The one-line form of a library error met at the CLI boundary."""
    if isinstance(error, RecursionError):
        return str(InvalidValue("input", "...", "nesting at most a few hundred levels deep"))
    if isinstance(error, sqlite3.Error):
        return str(InvalidValue("store", " ".join(str(error).split()), "an intact study store"))
    if isinstance(error, MemoryError):
        return str(InvalidValue("memory", "exhausted", "a smaller request (see --max-memory)"))
    return " ".join(str(error).split()) or type(error).__name__
