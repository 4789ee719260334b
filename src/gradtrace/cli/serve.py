"""`gradtrace serve`: run the local web lab (simulator, probe lab, results browser)."""

from __future__ import annotations

from pathlib import Path

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
def serve(host: str, port: int, data: Path) -> None:
    """Serve the web lab at http://HOST:PORT (Ctrl-C stops it)."""
    if not 1 <= port <= 65535:
        raise InvalidValue("--port", port, "must be between 1 and 65535")
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
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
