"""``patchgap systems``: the deployed systems of an organization, their attributes and lifecycle.

``list`` (``--owner``, ``--tag``, ``--sort``, ``--limit``; ``--format json`` streams every system),
``set`` (owner, tags, criticality, environment, internet exposure, cadence), ``decommission`` /
``recommission`` and ``delete --yes``. Changing a system, decommissioning and deleting are an
administrator's acts; the CLI acts with the database's own authority.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import StrEnum
from itertools import islice
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors, when
from cli.report import OrgOption, OwnerOption, TagOption, parse_as_of

app = typer.Typer(help="Deployed systems.", no_args_is_help=True)
NameArgument = Annotated[str, typer.Argument(help="System name.")]


class ListFormat(StrEnum):
    table = "table"
    json = "json"


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    org: OrgOption,
    owner: OwnerOption = None,
    tag: TagOption = None,
    *,
    sort: Annotated[
        str, typer.Option("--sort", help="name, last_sbom, open_exposures or owner (ties by name).")
    ] = "name",
    desc: Annotated[bool, typer.Option("--desc", help="Sort in descending order.")] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=1, help="At most this many systems (default: 100 in a table, all in JSON)."
        ),
    ] = None,
    output: Annotated[
        ListFormat, typer.Option("--format", help="table or json (streamed).")
    ] = ListFormat.table,
) -> None:
    """List the systems of an organization: owner, tags, snapshots and observed span, stale flag and open
    exposures (of them exploited). ``--format json`` writes every system as one JSON array, page by page."""
    from pipeline.lists.systems import SystemQuery, iter_systems

    query = SystemQuery.of(owner=owner, tags=tag or (), sort=sort, order="desc" if desc else "asc")
    with database(ctx, upgrade=False) as db:
        if output is ListFormat.json:
            rows = iter_systems(db, org, query)
            _stream_json(row.to_json() for row in (islice(rows, limit) if limit is not None else rows))
            return
        from pipeline.lists.systems import system_page

        page = system_page(db, org, query, limit=limit or 100)
    systems = page.items
    if not systems:
        console.print(f"organization {org!r} has no systems" + (" that match" if owner or tag else " yet"))
        return
    table = Table(
        "system",
        "environment",
        "snapshots",
        "first observed",
        "last observed",
        "stale",
        "open",
        "KEV",
        "criticality",
        "owner",
        "tags",
        "decommissioned",
        box=box.SIMPLE,
    )
    for row in systems:
        s = row.system
        table.add_row(
            s.name,
            s.environment,
            str(s.snapshot_count),
            when(s.first_observed_at),
            when(s.last_observed_at),
            "stale" if row.stale else "-",
            str(row.open_exposures),
            str(row.open_kev),
            s.criticality,
            s.owner or "-",
            ", ".join(s.tags) or "-",
            when(s.decommissioned_at) if s.decommissioned_at else "-",
        )
    console.print(table)
    if page.total is not None and page.total > len(systems):
        console.print(f"{len(systems)} of {page.total} systems shown (--limit, or --format json for all)")


def _stream_json(rows: Iterable[dict[str, Any]]) -> None:
    """One JSON array, written row by row as the rows are read (constant memory)."""
    out = sys.stdout
    out.write("[")
    count = 0
    for count, row in enumerate(rows, 1):
        out.write(",\n  " if count > 1 else "\n  ")
        out.write(json.dumps(row))
    out.write("\n]\n" if count else "]\n")
    out.flush()


@app.command("set")
@reports_errors
def set_(
    ctx: typer.Context,
    name: NameArgument,
    *,
    org: OrgOption,
    owner: Annotated[
        str | None, typer.Option("--owner", help='Team or e-mail address that answers for it ("" clears it).')
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add this tag (repeatable).")] = None,
    untag: Annotated[list[str] | None, typer.Option("--untag", help="Remove this tag (repeatable).")] = None,
    criticality: Annotated[
        str | None, typer.Option("--criticality", help="low | medium | high | critical.")
    ] = None,
    environment: Annotated[str | None, typer.Option("--environment", help="prod, staging, …")] = None,
    internet_exposed: Annotated[
        bool | None,
        typer.Option("--internet-exposed/--not-internet-exposed", help="Reachable from the internet."),
    ] = None,
    cadence_days: Annotated[
        int | None, typer.Option("--cadence-days", min=1, max=3650, help="Expected days between SBOMs.")
    ] = None,
) -> None:
    """Change a system's attributes; what is not given keeps its value."""
    from pipeline.systems import update_system

    attributes = {
        "owner": owner,
        "criticality": criticality,
        "environment": environment,
        "internet_exposed": internet_exposed,
        "cadence_days": cadence_days,
    }
    with database(ctx, upgrade=False) as db:
        row = update_system(db, org, name, attributes, add_tags=tag or (), remove_tags=untag or ())
    console.print(
        f"system {row.name!r}: environment {row.environment}, criticality {row.criticality}, "
        f"internet-exposed {'yes' if row.internet_exposed else 'no'}, cadence {row.cadence_days} d, "
        f"owner {row.owner or '-'}, tags {', '.join(row.tags) or '-'}"
    )


@app.command("decommission")
@reports_errors
def decommission(
    ctx: typer.Context,
    name: NameArgument,
    org: OrgOption,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="ISO", help="When it left service (ISO 8601; default now)."),
    ] = None,
) -> None:
    """Take a system out of service: open exposures close as decommissioned, uploads are refused."""
    from pipeline.systems import decommission_system

    moment = parse_as_of(at, "--at")
    with database(ctx, upgrade=False) as db:
        row = decommission_system(db, org, name, moment)
    console.print(
        f"system {row.name!r} decommissioned at {when(row.decommissioned_at)}; its open exposures are closed "
        f"as decommissioned; `patchgap systems recommission {row.name}` puts it back in service"
    )


@app.command("recommission")
@reports_errors
def recommission(ctx: typer.Context, name: NameArgument, org: OrgOption) -> None:
    """Put a decommissioned system back in service (uploads accepted, its exposures open again)."""
    from pipeline.systems import recommission_system

    with database(ctx, upgrade=False) as db:
        row = recommission_system(db, org, name)
    console.print(f"system {row.name!r} is in service again")


@app.command("delete")
@reports_errors
def delete(
    ctx: typer.Context,
    name: NameArgument,
    org: OrgOption,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: delete it with its snapshots.")] = False,
) -> None:
    """Delete a system with its snapshots, exposures and upload jobs (without --yes: say what would go)."""
    from pipeline.systems import delete_system

    with database(ctx, upgrade=False) as db:
        counts = delete_system(db, org, name, confirm=yes)
    console.print(
        f"system {name!r} deleted with {counts.snapshots} snapshot(s), {counts.exposures} exposure row(s) "
        f"and {counts.upload_jobs} upload job(s)"
    )
