"""Bad command lines for every gradtrace command, generated from the commands' own options."""

from __future__ import annotations

import click

from gradtrace.cli.main import cli

INT_BAD = ("abc", "1.5", "", "true", "1e999", "99999999999999999999", "-99999999999999999999")
FLOAT_BAD = ("abc", "", "true", "nan", "inf", "-inf", "1e999", "0x")
WORD_BAD = ("nosuch", "", " ")
PATH_BAD = ("",)
# free-form options whose every value may be valid (or that start a server)
SKIP = {("serve", "--host")}
# an option that only makes sense with another: give the other so the option itself is tested
NEEDS: dict[tuple[str, str], list[str]] = {("study", "--address"): ["--executor", "ray"]}


def _commands() -> list[tuple[list[str], click.Command]]:
    ctx = click.Context(cli)
    out = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), [*path, name])  # type: ignore[arg-type]
        else:
            out.append((path, command))

    walk(cli, [])
    return out


def _bad_values(param: click.Parameter) -> tuple[str, ...]:
    kind = param.type
    if isinstance(kind, click.types.IntParamType | click.IntRange):
        return INT_BAD
    if isinstance(kind, click.types.FloatParamType | click.FloatRange):
        return FLOAT_BAD
    if isinstance(kind, click.Path) or "path" in type(kind).__name__.lower():
        return (*PATH_BAD, "\x00")
    if type(kind).__name__ == "MemorySize":
        return ("lots", "", "-1GB", "0", "1e99")
    return WORD_BAD


def cli_cases() -> list[tuple[str, list[str]]]:
    """(case id, argv) pairs, each a bad invocation that must exit 2 with one line."""
    cases: list[tuple[str, list[str]]] = [
        ("no-such-command", ["nosuch"]),
        ("no-such-command-typo", ["probes"]),
        ("empty-command", [""]),
    ]
    for path, command in _commands():
        name = " ".join(path)
        cases.append((f"{name} unknown option", [*path, "--no-such-option"]))
        cases.append((f"{name} unknown option=", [*path, "--no-such-option=1"]))
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            opt = max(param.opts, key=len)
            if (name, opt) in SKIP:
                continue
            if param.is_flag:
                cases.append((f"{name} {opt}=value", [*path, f"{opt}=maybe"]))
                continue
            cases.append((f"{name} {opt} (no value)", [*path, opt]))
            for value in _bad_values(param):
                extra = NEEDS.get((name, opt), [])
                cases.append((f"{name} {opt} {value!r}", [*path, *extra, opt, value]))
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        for argument in arguments:
            if argument.nargs == 1:
                cases.append((f"{name} {argument.name} missing-path", [*path, "no/such/path"]))
                cases.append((f"{name} {argument.name} empty", [*path, ""]))
    cases += [
        ("probe conflicting cells", ["probe", "--compare", "rnn:lstm"]),
        ("probe conflicting sizes", ["probe", "hidden=8,hidden=16"]),
        ("probe bad spec word", ["probe", "rnn:lstmm"]),
        ("probe bad spec key", ["probe", "hiden=8"]),
        ("probe bad spec value", ["probe", "hidden=eight"]),
        ("probe spec bool number", ["probe", "residual=2"]),
        ("probe compare nothing", ["probe", "--compare"]),
        ("probe huge together", ["probe", "--hidden", "4096", "--seq-len", "100000"]),
        ("probe huge batch", ["probe", "--batch-size", "8192", "--seq-len", "100000"]),
        ("probe tiny memory", ["probe", "--max-memory", "1MB"]),
        ("probe plot txt", ["probe", "--plot", "x.txt"]),
        ("train huge together", ["train", "--hidden", "4096", "--seq-len", "100000"]),
        ("train tiny memory", ["train", "--max-memory", "1MB"]),
        ("train gated activation", ["train", "--cell", "lstm", "--activation", "relu"]),
        ("simulate matrix huge", ["simulate", "matrix", "--hidden", "1024", "--steps", "1024"]),
        ("study preset and config", ["study", "--preset", "quick", "--config", "x.toml"]),
        ("study tiny memory", ["study", "--dry-run", "--max-memory", "1MB"]),
        ("audit huge workers", ["audit", "--workers", "1000000000000"]),
        ("serve bad port", ["serve", "--port", "70000"]),
    ]
    return cases
