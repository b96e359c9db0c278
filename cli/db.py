"""``patchgap db``: database administration (schema migrations)."""

from __future__ import annotations

import typer

from cli.common import console, database, display_url, reports_errors, settings

app = typer.Typer(help="Database administration.", no_args_is_help=True)


@app.command("upgrade")
@reports_errors
def upgrade(ctx: typer.Context) -> None:
    """Create the database schema or migrate it to this version of patchgap."""
    with database(ctx, upgrade=True) as db:
        revision = db.revision()
    console.print(f"database {display_url(settings(ctx).database_url)} is at schema {revision} (current)")
