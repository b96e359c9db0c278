"""API keys (issue 6): ``patchgap keys create|list|revoke``.

``keys create`` bootstraps: it creates the organization on first use and prints the new key once (it
is not stored, only its hash). Keep it in a secret store; a lost key is revoked and replaced.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import CreateOrgOption, console, database, reports_errors, require_org, when

app = typer.Typer(help="API keys of an organization.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organization.")]


@app.command("create")
@reports_errors
def create(
    ctx: typer.Context,
    *,
    org: Annotated[str, typer.Option("--org", help="Organization (must exist, unless --create-org).")],
    role: Annotated[str, typer.Option("--role", help="admin | uploader | reader.")],
    name: Annotated[str, typer.Option("--name", help="A label, e.g. the CI job using the key.")] = "",
    create_org: CreateOrgOption = False,
    embargo: Annotated[
        bool,
        typer.Option("--embargo", help="May read embargoed Akrites data (in an Akrites member org)."),
    ] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from pipeline.api_keys import check_role, create_key

    check_role(role)
    with database(ctx, upgrade=True) as db:
        require_org(db, org, create=create_org)
        created = create_key(db, org=org, role=role, name=name, embargo=embargo)
    key = created.key
    # The key alone on stdout's first line, so `KEY=$(patchgap keys create … | head -1)` works.
    console.print(created.token)
    granted = ", embargo" if key.embargo else ""
    typer.echo(f"key {key.id} ({key.role}{granted}) of {key.org} created; it is shown only now", err=True)


@app.command("list")
@reports_errors
def list_(ctx: typer.Context, org: OrgOption) -> None:
    """List an organization's keys (prefix, role, last use, revocation); secrets are never shown."""
    from pipeline.api_keys import list_keys

    with database(ctx, upgrade=False) as db:
        keys = list_keys(db, org)
    if not keys:
        console.print(f"organization {org!r} has no API keys")
        return
    columns = ("id", "prefix", "role", "embargo", "name", "created", "last used", "revoked")
    table = Table(*columns, box=box.SIMPLE)
    for k in keys:
        table.add_row(
            str(k.id),
            k.prefix,
            k.role,
            "yes" if k.embargo else "no",
            k.name,
            when(k.created_at),
            when(k.last_used_at),
            when(k.revoked_at),
        )
    console.print(table)


@app.command("revoke")
@reports_errors
def revoke(
    ctx: typer.Context, org: OrgOption, key_id: Annotated[int, typer.Argument(help="Key id (keys list).")]
) -> None:
    """Revoke a key at once; its dashboard sessions end too."""
    from pipeline.api_keys import revoke_key

    with database(ctx, upgrade=False) as db:
        key = revoke_key(db, org, key_id)
    console.print(f"key {key.id} ({key.prefix}) of {key.org} revoked at {when(key.revoked_at)}")


def register(root: typer.Typer) -> None:
    """Add ``patchgap keys …``."""
    root.add_typer(app, name="keys")
