"""`gradtrace serve`: run the local web lab (simulator, probe lab, results browser)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import click

from gradtrace.cli.types import path
from gradtrace.errors import InvalidValue

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but localhost exposes the lab to the network. "
    "Requests must name this host (or localhost) in their Host header; 0.0.0.0 accepts any.",
)
@click.option("--port", default=8000, show_default=True, type=int, help="TCP port (1-65535).")
@click.option(
    "--data",
    "data",
    default=".",
    show_default=True,
    type=path(file_okay=False, path_type=Path),
    help="Folder whose studies, audits, probes and monitor logs the Results page shows.",
)
@click.option(
    "--follow",
    "follow",
    default=None,
    type=path(dir_okay=False, path_type=Path),
    help="A monitor JSONL log to watch live while training writes it (it may not exist yet): "
    "serves its folder (unless --data is given) and prints the live view's URL.",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, data: Path, follow: Path | None) -> None:
    """Serve the web lab at http://HOST:PORT (Ctrl-C stops it)."""
    if not 1 <= port <= 65535:
        raise InvalidValue("--port", port, "must be between 1 and 65535")
    live = None
    if follow is not None:
        given = ctx.get_parameter_source("data") is not click.core.ParameterSource.DEFAULT
        data, live = _followed(follow, data if given else None)
    if not data.is_dir():
        raise InvalidValue("--data", str(data), "must be an existing folder")
    try:
        import uvicorn

        from gradtrace.web.app import create_app
        from gradtrace.web.hosts import allowed_hosts
    except ModuleNotFoundError as e:
        raise click.ClickException(
            f"gradtrace serve needs the web extra ({e.name} is missing): "
            "pip install 'gradtrace[web]'"
        ) from None
    if host not in LOCAL_HOSTS:
        click.echo(
            f"warning: listening on {host}: anyone who can reach it can run probes", err=True
        )
    app = create_app(data, hosts=allowed_hosts(host))
    click.echo(f"gradtrace lab on http://{_url_host(host)}:{port} (data: {data.resolve()})")
    if live is not None:
        click.echo(f"live view: http://{_url_host(host)}:{port}/live?id={quote(live)}")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _followed(log: Path, data: Path | None) -> tuple[Path, str]:
    """(data folder, result id) for ``--follow log``: its folder, or ``data`` holding it."""
    if log.suffix != ".jsonl":
        raise InvalidValue("--follow", str(log), "a monitor log whose name ends in .jsonl")
    if not log.parent.is_dir():
        raise InvalidValue("--follow", str(log), "a file in an existing folder")
    folder = log.parent if data is None else data
    if not folder.is_dir():
        raise InvalidValue("--data", str(folder), "must be an existing folder")
    where = log.resolve()
    if not where.is_relative_to(folder.resolve()):
        raise InvalidValue("--follow", str(log), f"a log inside --data {folder}")
    return folder, where.relative_to(folder.resolve()).as_posix()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
