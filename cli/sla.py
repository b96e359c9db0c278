"""SLA policy: ``patchgap sla show --org ORG`` and ``patchgap sla set --org ORG [FILE] [--tier NAME=DAYS …]``.

A policy is the JSON of ``reports.sla.SlaPolicy`` (``{"tiers": [{"name", "days", "exploited",
"internet_exposed", "min_cvss", "min_epss", "criticality"}, …]}``, first matching tier wins);
organizations without one use DESIGN.md's defaults. ``--tier`` changes the days of named tiers of the
current policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import CreateOrgOption, console, database, reports_errors, require_org

app = typer.Typer(help="SLA tiers per organization.", no_args_is_help=True)
MAX_POLICY_BYTES = 1024 * 1024


def _flag(value: bool | None) -> str:
    return "any" if value is None else ("yes" if value else "no")


def _threshold(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the policy JSON (the input of `sla set`).")
    ] = False,
) -> None:
    """Show the organization's SLA tiers (in precedence order)."""
    from pipeline.sla import get_sla_policy

    with database(ctx, upgrade=False) as db:
        policy, own = get_sla_policy(db, org)
    if as_json:
        typer.echo(policy.to_json())
        return
    table = Table(
        "tier",
        "days",
        "exploited",
        "internet-exposed",
        "min CVSS",
        "min EPSS",
        "criticality",
        box=box.SIMPLE,
        title=f"SLA policy of {org}" + ("" if own else " (defaults)"),
    )
    for t in policy.tiers:
        table.add_row(
            t.name,
            f"{t.days:g}",
            _flag(t.exploited),
            _flag(t.internet_exposed),
            _threshold(t.min_cvss),
            _threshold(t.min_epss),
            "any" if t.criticality is None else ", ".join(t.criticality),
        )
    console.print(table)


@app.command("set")
@reports_errors
def set_(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization (must exist, unless --create-org).")],
    file: Annotated[Path | None, typer.Argument(help="Policy JSON file (see `sla show --json`).")] = None,
    tier: Annotated[
        list[str] | None,
        typer.Option("--tier", metavar="NAME=DAYS", help="Change one tier's days (repeatable)."),
    ] = None,
    create_org: CreateOrgOption = False,
) -> None:
    """Set the organization's SLA policy from a JSON file and/or change tier days (validated first)."""
    from core.errors import InputError, NotFoundError
    from pipeline.sla import DEFAULT_POLICY, SlaPolicy, get_sla_policy, policy_from_tiers, set_sla_policy

    if file is None and not tier:
        raise InputError("sla set", "give a policy FILE, --tier NAME=DAYS, or both")
    with database(ctx, upgrade=True) as db:
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(str(file), f"cannot read: {exc}") from None
            if len(text) > MAX_POLICY_BYTES:
                raise InputError(str(file), f"larger than {MAX_POLICY_BYTES} bytes")
            policy = SlaPolicy.from_json(text, str(file))
        else:
            try:
                policy, _ = get_sla_policy(db, org)
            except NotFoundError:  # a new organization starts from the defaults
                policy = DEFAULT_POLICY
        if tier:
            policy = policy_from_tiers(tier, policy)
        require_org(db, org, create=create_org)
        set_sla_policy(db, org, policy)
    console.print(f"SLA policy of {org}: " + ", ".join(f"{t.name} {t.days:g} d" for t in policy.tiers))


def register(root: typer.Typer) -> None:
    """``patchgap sla show|set``."""
    root.add_typer(app, name="sla")
