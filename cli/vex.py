"""VEX statements: ``patchgap vex import FILE --org ORG`` and ``patchgap vex list --org ORG`` — a view of the
analysis records (``patchgap triage``).

Importing records each statement as a decision of the document's author at the statement's own time
(re-importing the same file records nothing new) and rebuilds the organization's exposures, so a
``not_affected`` statement takes the exposures it covers out of the reports at once (they are listed
with ``report exposures --status excluded``). ``list`` shows each record's latest decision in VEX words.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import CreateOrgOption, console, database, reports_errors, require_org

app = typer.Typer(
    help="VEX statements (OpenVEX, CycloneDX VEX): a view of the analysis records.", no_args_is_help=True
)
MAX_VEX_BYTES = 20 * 1024 * 1024


class ListFormat(StrEnum):
    json = "json"
    table = "table"


@app.command("import")
@reports_errors
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="OpenVEX 0.2.0 or CycloneDX VEX JSON document.")],
    org: Annotated[str, typer.Option("--org", help="Organization (must exist, unless --create-org).")],
    create_org: CreateOrgOption = False,
) -> None:
    """Import the statements of a VEX document for an organization."""
    from cli.common import read_file
    from core.errors import InputError, SbomError
    from pipeline.vex import import_vex

    try:
        data = read_file(file, MAX_VEX_BYTES)
    except SbomError as exc:  # read_file speaks of SBOMs; the message (file first) is the same
        raise InputError(exc.source, exc.problem) from None
    if len(data) > MAX_VEX_BYTES:
        raise InputError(str(file), f"larger than {MAX_VEX_BYTES} bytes")
    from cli.triage import _actor

    with database(ctx, upgrade=True) as db:
        require_org(db, org, create=create_org)
        result = import_vex(db, org, data, str(file), importer=_actor(None))
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(result.by_status.items())) or "none"
    console.print(
        f"{result.source}: {result.statements} statements ({statuses}); "
        f"exposures of {result.rebuilt_systems} systems rebuilt"
    )


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization.")],
    output: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
) -> None:
    """List an organization's VEX statements and the vulnerability group each resolves to."""
    from pipeline.vex import list_vex

    with database(ctx, upgrade=False) as db:
        rows = list_vex(db, org)
    if output is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"organization {org!r} has no VEX statements")
        return
    table = Table(
        "vulnerability",
        "group",
        "package",
        "version",
        "status",
        "justification",
        "source",
        "stated",
        box=box.SIMPLE,
    )
    for r in rows:
        table.add_row(
            r["vulnerability"],
            r["vuln_group"] or "(no advisory yet)",
            r["package"],
            r["version"] or "all",
            r["status"],
            r["justification"] or "-",
            r["source"],
            r["stated_at"],
        )
    console.print(table)


def register(root: typer.Typer) -> None:
    """``patchgap vex import|list``."""
    root.add_typer(app, name="vex")
