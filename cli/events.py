"""Events: ``patchgap events list [--org ORG] [--kind KIND …] [--after ID] [--limit N] [--json]``.

Without ``--org`` the operator of the installation sees every organization's events and the
installation's; with it, what that organization's API keys see (``GET /api/v1/events``). ``--json``
prints one JSON object per line (the API's event objects), so a script can follow the outbox with
``--after`` set to the last id it read.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors
from core.events import EVENT_KINDS

app = typer.Typer(help="Events: what changed (exposures, SLA deadlines, stale systems, failures).")


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    *,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization's view.")] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help=f"Only this kind (repeatable): {', '.join(EVENT_KINDS)}."),
    ] = None,
    after: Annotated[int, typer.Option("--after", min=0, help="Only events with a larger id.")] = 0,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List events, oldest first."""
    from core.errors import InputError
    from pipeline.events import event_page, installation_events

    unknown = sorted(set(kind or ()) - set(EVENT_KINDS))
    if unknown:
        raise InputError("--kind", f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(EVENT_KINDS)}")
    with database(ctx, upgrade=False) as db:
        if org is None:
            found = installation_events(db, after=after, kinds=kind, limit=limit)
        else:
            found = event_page(db, org, after=after, kinds=kind, limit=limit)
    if as_json:
        for event in found:
            typer.echo(json.dumps(event.to_json(), sort_keys=True))
        return
    table = Table("id", "created", "kind", "organization", "summary", box=box.SIMPLE)
    for event in found:
        table.add_row(
            str(event.id),
            event.to_json()["created_at"],
            event.kind,
            event.organization or "(installation)",
            str(event.data.get("summary", "")),
        )
    console.print(table)
