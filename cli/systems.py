"""``patchgap systems``: the deployed systems of an organization."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors, when

app = typer.Typer(help="Deployed systems.", no_args_is_help=True)


@app.command("list")
@reports_errors
def list_(ctx: typer.Context, org: Annotated[str, typer.Option("--org", help="Organization.")]) -> None:
    """List the systems of an organization with their number of snapshots and observed span."""
    from pipeline.systems import list_systems

    with database(ctx, upgrade=False) as db:
        systems = list_systems(db, org)
    if not systems:
        console.print(f"organization {org!r} has no systems yet")
        return
    table = Table("system", "environment", "snapshots", "first observed", "last observed", box=box.SIMPLE)
    for s in systems:
        table.add_row(
            s.name, s.environment, str(s.snapshot_count), when(s.first_observed_at), when(s.last_observed_at)
        )
    console.print(table)
