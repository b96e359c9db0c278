"""``patchgap snapshots``: the SBOM snapshots of a system, in observed order."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors, when

app = typer.Typer(help="SBOM snapshots of a system.", no_args_is_help=True)


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization.")],
    system: Annotated[str, typer.Option("--system", help="System name.")],
) -> None:
    """List a system's snapshots in the order they were observed (not the order they were uploaded)."""
    from pipeline.systems import list_snapshots

    with database(ctx, upgrade=False) as db:
        snapshots = list_snapshots(db, org, system)
    if not snapshots:
        console.print(f"system {system!r} has no snapshots yet")
        return
    table = Table(
        "id", "observed at", "format", "spec", "components", "not assessable", "set", "sha256", box=box.SIMPLE
    )
    for s in snapshots:
        table.add_row(
            str(s.id),
            when(s.observed_at),
            s.format,
            s.spec_version,
            str(s.component_count),
            str(s.not_assessable_count),
            str(s.component_set_id),
            s.sha256[:12],
        )
    console.print(table)
