"""``patchgap orgs list|set``: organizations (tenants), their CRA manufacturer flag and Akrites membership.

Organizations are created on first use (an ingest, a key, an SLA policy); this command lists them and
marks the ones that are manufacturers under the Cyber Resilience Act, which is what makes
``patchgap export cra-register`` available for them, and the Akrites members, whose keys with the
``embargo`` permission see embargoed Akrites records (only the operator sets it, here: an
organization's own key could otherwise mark itself a member). ``set`` refuses an unknown organization, so a
typo never creates a new tenant.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors

app = typer.Typer(help="Organizations: list them, mark CRA manufacturers.", no_args_is_help=True)


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the organizations as JSON.")] = False,
) -> None:
    """Every organization with its manufacturer flag and number of systems."""
    from pipeline.cra import list_organizations

    with database(ctx, upgrade=False) as db:
        rows = list_organizations(db)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("organization", "manufacturer", "systems", "created", "Akrites member", box=box.SIMPLE)
    for r in rows:
        table.add_row(
            r["name"],
            "yes" if r["manufacturer"] else "no",
            str(r["systems"]),
            r["created_at"],
            "yes" if r["akrites_member"] else "no",
        )
    console.print(table)


@app.command("set")
@reports_errors
def set_(
    ctx: typer.Context,
    org: Annotated[str, typer.Argument(metavar="ORG", help="An existing organization.")],
    manufacturer: Annotated[
        bool | None,
        typer.Option(
            "--manufacturer/--no-manufacturer",
            help="Mark as a CRA manufacturer (its systems are products with an Article 14 register).",
        ),
    ] = None,
    akrites_member: Annotated[
        bool | None,
        typer.Option(
            "--akrites-member/--no-akrites-member",
            help="Mark as an Akrites member: its keys with the embargo permission see embargoed records.",
        ),
    ] = None,
) -> None:
    """Change an organization's attributes: the CRA manufacturer flag, Akrites membership."""
    from core.errors import InputError
    from pipeline.cra import set_manufacturer
    from pipeline.embargo import set_member

    if manufacturer is None and akrites_member is None:
        raise InputError(
            "orgs set",
            "nothing to set: give --manufacturer or --no-manufacturer, or --akrites-member or "
            "--no-akrites-member",
        )
    with database(ctx, upgrade=True) as db:
        if manufacturer is not None:
            set_manufacturer(db, org, manufacturer)
        if akrites_member is not None:
            set_member(db, org, akrites_member)
    if manufacturer is not None:
        console.print(f"{org}: {'manufacturer' if manufacturer else 'not a manufacturer'}", markup=False)
    if akrites_member is not None:
        member = "Akrites member" if akrites_member else "not an Akrites member"
        console.print(f"{org}: {member}", markup=False)


def register(root: typer.Typer) -> None:
    """``patchgap orgs …``."""
    root.add_typer(app, name="orgs")
