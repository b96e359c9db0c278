"""The web server (issue 6): ``patchgap serve [--host --port --workers]``.

Brings the database to the current schema, then runs uvicorn with ``api.main:app_from_env`` as the
app factory: each worker process builds its own app (db, upload worker thread) from the
environment this command sets, so ``--db`` reaches every worker.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.common import database, display_url, reports_errors, settings


@reports_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Server processes (PostgreSQL for more than one).")
    ] = 1,
) -> None:
    """Serve the REST API and the dashboard (http://HOST:PORT/dashboard/)."""
    import uvicorn

    from core.settings import DATABASE_URL_ENV, MAX_SBOM_BYTES_ENV

    config = settings(ctx)
    with database(ctx, upgrade=True):
        pass
    os.environ[DATABASE_URL_ENV] = config.database_url
    os.environ[MAX_SBOM_BYTES_ENV] = str(config.max_sbom_bytes)
    typer.echo(
        f"patchgap serving {display_url(config.database_url)} on http://{host}:{port}/dashboard/ "
        f"(API docs: http://{host}:{port}/docs)",
        err=True,
    )
    uvicorn.run("api.main:app_from_env", factory=True, host=host, port=port, workers=workers)


def register(app: typer.Typer) -> None:
    """Add ``patchgap serve``."""
    app.command("serve")(serve)
