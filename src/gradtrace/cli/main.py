"""The ``gradtrace`` entry point: a lazy Click group that turns bad input into one line, exit 2."""

from __future__ import annotations

import importlib
import sqlite3
import sys

import click

from gradtrace.cli.errors import library_line, usage_line
from gradtrace.errors import GradtraceError

# command name -> "module:attribute"; each module owns one command (or group).
COMMANDS: dict[str, str] = {
    "simulate": "gradtrace.cli.simulate:simulate",
    "probe": "gradtrace.cli.probe:probe",
    "train": "gradtrace.cli.train:train",
    "study": "gradtrace.cli.study:study",
    "tables": "gradtrace.cli.study:tables",
    "audit": "gradtrace.cli.audit:audit",
    "report": "gradtrace.cli.report:report",
    "serve": "gradtrace.cli.serve:serve",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used, so ``--help`` stays fast.

    Its ``main`` turns every error into one line ``error: ...`` and exit 2 (also when run
    through click.testing.CliRunner), never a traceback.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the group; bad input prints one line and exits 2."""
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help() if e.ctx else str(e))
            sys.exit(2)
        except click.UsageError as e:
            _fail(usage_line(e, argv))
        except click.exceptions.Abort:
            _fail("aborted", 130)
        except KeyboardInterrupt:
            _fail("interrupted; finished work was kept", 130)
        except (GradtraceError, ValueError, RecursionError, sqlite3.Error, MemoryError) as e:
            _fail(library_line(e))
        except click.ClickException as e:
            _fail(e.format_message(), e.exit_code or 1)
        except OSError as e:
            _fail(f"{e.filename or 'file'}: {e.strerror or e} is not allowed; a readable path", 2)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("gradtrace"):
                return None
            raise
        return getattr(module, attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradtrace")
def cli() -> None:
    """See, measure and fix vanishing and exploding gradients in recurrent networks."""


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input prints one line ``error: ...`` and exits 2, never a traceback."""
    cli.main(args=argv, prog_name="gradtrace")


def usage_message(error: click.UsageError) -> str:
    """One line for a Click usage error, naming the option and the value where Click knows them."""
    return usage_line(error)


if __name__ == "__main__":
    main()
