"""``patchgap db``: database administration (schema migrations, rebuilding derived data)."""

from __future__ import annotations

from typing import Annotated

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


@app.command("rebuild")
@reports_errors
def rebuild(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option("--org", help="Only this organization (default: every organization).")
    ] = None,
) -> None:
    """Recompute every stored exposure interval from the raw facts (snapshots, match results,
    advisories, analysis records), whatever the build state says. Reports keep them current on their
    own; this is the from-scratch computation, for after a restore or to check the incremental one.
    Match results are derived too: `patchgap match --all` recomputes them. The exposures list's
    stored sort columns are recomputed from the rebuilt rows."""
    from pipeline.exposures.build import rebuild_all
    from pipeline.lists.exposures import rebuild_lists

    with database(ctx, upgrade=False) as db:
        result = rebuild_all(db, org)
        rebuild_lists(db, org)
    console.print(
        f"rebuilt {result.rows} exposure rows of {result.systems} systems "
        f"in {result.organizations} organization(s)"
    )
