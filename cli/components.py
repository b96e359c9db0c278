"""``patchgap components search``: where the organization runs a package, in which versions, and
whether those versions are affected (the latest snapshot of every system; ``pipeline.lists.components``).

A table of the versions found (systems running each) by default; ``--systems`` lists the systems
instead; ``--format json`` writes every (system, version) row as one JSON array, streamed.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from itertools import islice
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors, when
from cli.report import OrgOption

app = typer.Typer(help="Where the fleet runs a package, and which versions.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


@app.command("search")
@reports_errors
def search(
    ctx: typer.Context,
    q: Annotated[str, typer.Argument(help="Package name (log4j-core, requests) or purl (pkg:maven/g/a).")],
    org: OrgOption,
    *,
    ecosystem: Annotated[str | None, typer.Option("--ecosystem", help="Only this OSV ecosystem.")] = None,
    version: Annotated[
        str | None, typer.Option("--version", help="Version range: <2.17.1, >=2.0,<2.15, =2.14.1.")
    ] = None,
    include_decommissioned: Annotated[
        bool, typer.Option("--include-decommissioned", help="Also decommissioned systems.")
    ] = False,
    systems: Annotated[bool, typer.Option("--systems", help="List the systems, not the versions.")] = False,
    sort: Annotated[
        str, typer.Option("--sort", help="package or system (with --systems, json).")
    ] = "package",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many rows (default: 100 in a table).")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table or json (streamed rows).")] = Format.table,
) -> None:
    """Which systems run the package (latest snapshots), which versions, and which are affected."""
    from pipeline.lists.components import ComponentQuery, component_page, component_summary, iter_components

    query = ComponentQuery.of(
        q, ecosystem=ecosystem, version=version, include_decommissioned=include_decommissioned, sort=sort
    )
    with database(ctx, upgrade=False) as db:
        if output is Format.json:
            rows = iter_components(db, org, query)
            out = sys.stdout
            out.write("[")
            count = 0
            for count, row in enumerate(islice(rows, limit) if limit is not None else rows, 1):
                out.write((",\n  " if count > 1 else "\n  ") + json.dumps(row.to_json()))
            out.write("\n]\n" if count else "]\n")
            return
        if systems:
            page = component_page(db, org, query, limit=limit or 100)
            table = Table(
                "system", "environment", "package", "version", "affected by", "observed", box=box.SIMPLE
            )
            for r in page.items:
                table.add_row(
                    r.system, r.environment, r.package, r.version, ", ".join(r.vulnerabilities) or "-",
                    when(r.observed_at),
                )  # fmt: skip
            console.print(table)
            if page.total is not None and page.total > len(page.items):
                console.print(
                    f"{len(page.items)} of {page.total} rows shown (--limit, or --format json for all)"
                )
            return
        found = component_summary(db, org, query)
    if not found:
        console.print(f"no system of {org!r} runs {q!r}" + (f" in {version}" if version else ""))
        return
    table = Table("package", "ecosystem", "version", "systems", "affected by", box=box.SIMPLE)
    for v in found[:limit] if limit is not None else found:
        table.add_row(v.package, v.ecosystem, v.version, str(v.systems), ", ".join(v.vulnerabilities) or "-")
    console.print(table)
