"""The ``patchgap`` command line: one typer app, sub-apps per resource.

Only this layer (and ``api``) reads settings and turns errors into exit statuses: a
``PatchgapError`` prints its one-line message to stderr as ``error: <message>`` and exits with status 2.
The global ``--db URL`` wins over ``PATCHGAP_DATABASE_URL``, which wins over ``./patchgap.db``.
"""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Annotated

import typer

from cli import (
    advisories,
    db,
    export,
    keys,
    matching,
    orgs,
    report,
    sbom,
    serve,
    sla,
    snapshots,
    systems,
    vex,
)
from cli.ingest_command import ingest
from core.settings import Settings

app = typer.Typer(
    name="patchgap",
    help="Measure and close the patch-deployment gap.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest)
app.add_typer(systems.app, name="systems")
app.add_typer(snapshots.app, name="snapshots")
app.add_typer(sbom.app, name="sbom")
app.add_typer(db.app, name="db")
# Each area's module adds its own commands, so areas grow without editing this file.
for _area in (advisories, matching, report, vex, sla, keys, serve, export, orgs):
    _area.register(app)


@app.callback()
def _root(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Database URL (default: $PATCHGAP_DATABASE_URL, else sqlite:///./patchgap.db; "
            "postgresql+psycopg://user@host/db for PostgreSQL).",
        ),
    ] = None,
) -> None:
    """patchgap: which fixable vulnerabilities still run in production, and how fast fixes deploy."""
    ctx.obj = Settings.from_env(database_url=database_url)


@app.command()
def version() -> None:
    """Print patchgap's version."""
    typer.echo(package_version("patchgap"))


def main() -> None:
    app()
