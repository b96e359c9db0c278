"""Triage: ``patchgap triage set|list|history`` — analysis records and their history.

``set`` records a decision about a vulnerability (any id or alias) in a package (a purl; a version in it
narrows the record to that version, ``--system`` to one system). It is checked first and refused with one
line, writing nothing, when the state or justification is unknown, an accepted risk has no expiry or one
in the past, or the organization does not run what it names (``--allow-unmatched`` records a decision
ahead of the advisory or the deploy). The decision is signed with ``--actor`` (default: the user running
the command) and the role ``cli``. Every decision is appended to the record's history, never rewritten:
``history`` shows it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from cli.common import CreateOrgOption, console, database, reports_errors, require_org

app = typer.Typer(help="Analysis records: triage decisions with their history.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organization.")]


class ListFormat(StrEnum):
    json = "json"
    table = "table"


def _actor(given: str | None) -> str:
    if given:
        return given
    import getpass

    try:
        user: str = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or the password database
        return "cli"
    return user or "cli"


def _expiry(value: str | None) -> datetime | None:
    """``--expires``: an ISO date (the acceptance ends as that day begins, UTC) or date-time."""
    if value is None:
        return None
    from core.errors import InputError
    from core.time import utc_midnight

    try:
        if len(value) == 10:
            return utc_midnight(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError("--expires", f"{value!r} is not an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scope(record: dict[str, Any]) -> str:
    where = str(record["package"]) + (f"@{record['version']}" if record["version"] else "")
    return where + (f" on {record['system']}" if record["system"] else "")


@app.command("set")
@reports_errors
def set_(
    ctx: typer.Context,
    *,
    org: OrgOption,
    vulnerability: Annotated[str, typer.Option("--vulnerability", help="CVE, GHSA, … (any id or alias).")],
    purl: Annotated[str, typer.Option("--purl", help="The package; a version in the purl narrows to it.")],
    state: Annotated[
        str,
        typer.Option(
            "--state",
            help="in_triage | exploitable | not_affected | false_positive | accepted_risk | resolved.",
        ),
    ],
    system: Annotated[str | None, typer.Option("--system", help="Narrow the record to one system.")] = None,
    justification: Annotated[
        str | None,
        typer.Option("--justification", help="not_affected: an OpenVEX or CycloneDX justification label."),
    ] = None,
    impact: Annotated[
        str | None, typer.Option("--impact", help="not_affected: why, in words (impact statement).")
    ] = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="Free text kept with the decision.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", metavar="WHEN", help="accepted_risk: until when (ISO date or date-time)."),
    ] = None,
    approver: Annotated[
        str | None, typer.Option("--approver", help="accepted_risk: who approved it (default: the actor).")
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who decides (default: the user running the command).")
    ] = None,
    allow_unmatched: Annotated[
        bool,
        typer.Option(
            "--allow-unmatched", help="Record it although no advisory or deployed package matches (yet)."
        ),
    ] = False,
    output_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    create_org: CreateOrgOption = False,
) -> None:
    """Record a triage decision; the record's history keeps every earlier one."""
    from pipeline.triage import Actor, AnalysisRequest, set_analysis

    request = AnalysisRequest(
        vulnerability,
        purl,
        state,
        system=system,
        justification=justification,
        impact_statement=impact,
        comment=comment,
        expires_at=_expiry(expires),
        approver=approver,
    )
    with database(ctx, upgrade=True) as db:
        require_org(db, org, create=create_org)
        record = set_analysis(
            db, org, request, Actor(_actor(actor), "cli", "cli"), allow_unmatched=allow_unmatched
        )
    if output_json:
        typer.echo(json.dumps(record, indent=2))
        return
    group = record["vuln_group"] or f"{record['vulnerability']} (no advisory yet)"
    console.print(f"analysis {record['id']}: {record['state']} — {group} in {_scope(record)}")


@app.command("list")
@reports_errors
def list_(
    ctx: typer.Context,
    org: OrgOption,
    state: Annotated[str | None, typer.Option("--state", help="Only records in this state.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="Only records narrowed to it.")] = None,
    output: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
) -> None:
    """An organization's analysis records as they stand (their latest decision)."""
    from pipeline.triage import list_analyses

    with database(ctx, upgrade=False) as db:
        rows = list_analyses(db, org, state=state, system=system)
    if output is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print(f"organization {org!r} has no analysis records")
        return
    table = Table(
        "id", "vulnerability", "scope", "state", "justification", "expires", "by", "decided", box=box.SIMPLE
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["vuln_group"] or f"{r['vulnerability']} (no advisory yet)",
            _scope(r),
            r["state"],
            r["justification"] or "-",
            r["expires_at"] or "-",
            f"{r['actor']} ({r['actor_role']})",
            r["decided_at"],
        )
    console.print(table)


@app.command("history")
@reports_errors
def history(
    ctx: typer.Context,
    org: OrgOption,
    analysis_id: Annotated[int, typer.Argument(help="Record id (triage list).")],
    output: Annotated[ListFormat, typer.Option("--format", help="Output format.")] = ListFormat.table,
) -> None:
    """Every decision of one record, oldest first: old → new state, what was said, by whom, when."""
    from pipeline.triage import analysis_history

    with database(ctx, upgrade=False) as db:
        shown = analysis_history(db, org, analysis_id)
    if output is ListFormat.json:
        typer.echo(json.dumps(shown, indent=2))
        return
    record = shown["analysis"]
    console.print(
        f"analysis {record['id']}: {record['vuln_group'] or record['vulnerability']} in {_scope(record)}"
    )
    table = Table("recorded", "decided", "change", "by", "said", box=box.SIMPLE)
    for h in shown["history"]:
        said = [
            f"{label}: {h[key]}"
            for label, key in (
                ("justification", "justification"),
                ("impact", "impact_statement"),
                ("comment", "comment"),
                ("expires", "expires_at"),
                ("approver", "approver"),
            )
            if h[key]
        ]
        table.add_row(
            h["recorded_at"],
            h["decided_at"],
            f"{h['previous_state'] or '(new)'} → {h['state']}",
            f"{h['actor']} ({h['actor_role']}, {h['source']})",
            "; ".join(said) or "-",
        )
    console.print(table)


def register(root: typer.Typer) -> None:
    """``patchgap triage set|list|history``."""
    root.add_typer(app, name="triage")
