"""``patchgap plan``: what to deploy first (README "Remediation plan")."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Column, Table

from cli.common import console, database, reports_errors
from cli.report import AsOfOption, OwnerOption, TagOption, csv_cell, parse_as_of
from cli.tables import print_wrapped, short_purl, short_text


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the root app."""
    app.command("plan")(plan)


def plan_csv(actions: list[dict[str, Any]]) -> str:
    from pipeline.plan import CSV_FIELDS, csv_row

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for action in actions:
        cells = csv_row(action)
        writer.writerow([csv_cell(cells.get(f)) for f in CSV_FIELDS])
    return out.getvalue()


def _table(document: dict[str, Any]) -> Table:
    shown, total = len(document["actions"]), document["total_actions"]
    table = Table(
        "#",
        Column("package", max_width=26),
        Column("from", max_width=14),
        Column("to", max_width=16),
        "score",
        "systems",
        "vulns",
        "KEV",
        "past due",
        "earliest due",
        box=box.SIMPLE,
        title=f"{shown} of {total} actions" if shown < total else f"{total} actions",
        # Two spaces between columns, none at the edges, package URLs and versions shortened (the JSON
        # and CSV keep them whole): the table fits a 120-column terminal.
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    for a in document["actions"]:
        to = short_text(a["to_version"], 14) + (" (major)" if a["major_upgrade"] else "")
        if a["in_major"]:
            to += f"; in-major {short_text(a['in_major']['to_version'], 14)}"
        table.add_row(
            str(a["rank"]),
            short_purl(a["package"], 26),
            short_text(a["from_version"], 14),
            to,
            f"{a['score']:.1f}",
            str(a["system_count"]),
            str(a["vulnerability_count"]),
            str(a["kev_count"]),
            f"{a['past_due']} ({a['max_days_past_due']:.0f} d)" if a["past_due"] else "-",
            (a["earliest_due"] or "-")[:10],
        )
    return table


@reports_errors
def plan(
    ctx: typer.Context,
    *,
    org: Annotated[str, typer.Option("--org", help="Organization.")],
    system: Annotated[str | None, typer.Option("--system", help="Only this system.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Only systems of this environment.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most N actions.")] = None,
    output: Annotated[PlanFormat, typer.Option("--format", help="Output format.")] = PlanFormat.table,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    tag: TagOption = None,
) -> None:
    """What to deploy first: upgrades ranked by the risk they remove, merged across systems."""
    from pipeline.plan import plan_json
    from pipeline.systems import SystemFilter

    when = parse_as_of(as_of)
    with database(ctx, upgrade=False) as db:
        only = SystemFilter.of(owner, tag or ())
        document = plan_json(db, org, system=system, environment=env, as_of=when, limit=limit, only=only)
    if output is PlanFormat.json:
        typer.echo(json.dumps(document, indent=2))
        return
    if output is PlanFormat.csv:
        typer.echo(plan_csv(document["actions"]), nl=False)
        return
    console.print(_table(document))
    for a in document["actions"]:
        if a.get("note"):
            console.print(f"#{a['rank']} {a['package']}@{a['from_version']}: {a['note']}", markup=False)
    for u in document["unfixable"]:
        print_wrapped(
            console,
            f"no single upgrade: {u['package']}@{u['version']} on {u['system_count']} system(s): "
            f"{u['reason']} ({u['detail']}); {u['what_to_do']}" + (f"; {u['note']}" if u.get("note") else ""),
        )
