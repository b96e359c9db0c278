"""Notifications: ``patchgap notify rules add|list|remove|test`` and ``patchgap notify deliveries``.

A rule sends an organization's events (all kinds, or those of ``--event``), narrowed by filters, to a
webhook (signed JSON), a Slack-compatible incoming webhook or e-mail recipients, one message per event
or as a daily digest. The scheduler's ``deliver`` job sends them; ``rules test`` sends a test message
through the real channel now. E-mail goes through the SMTP server of ``PATCHGAP_SMTP_HOST`` (README).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, fail, reports_errors, settings, when

if TYPE_CHECKING:
    from pipeline.notifications.rules import RuleInfo

app = typer.Typer(
    help="Notification rules (webhook, Slack, e-mail) and their deliveries.", no_args_is_help=True
)
rules_app = typer.Typer(help="Notification rules of an organization.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

OrgOption = Annotated[str, typer.Option("--org", help="Organization.")]
RuleArgument = Annotated[str, typer.Argument(help="Rule name or id (rules list).")]


def _filters(rule: RuleInfo) -> str:
    parts = [
        f"{label}={','.join(values)}"
        for label, values in (
            ("env", rule.environments),
            ("tier", rule.tiers),
            ("system", rule.systems),
            ("owner", rule.owners),
            ("tag", rule.tags),
        )
        if values
    ]
    if rule.kev_only:
        parts.append("kev")
    return " ".join(parts) or "-"


@rules_app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    *,
    org: OrgOption,
    name: Annotated[str, typer.Option("--name", help="A name, unique in the organization.")],
    channel: Annotated[str, typer.Option("--channel", help="webhook | slack | email.")],
    url: Annotated[
        str | None, typer.Option("--url", help="The webhook or Slack incoming-webhook URL.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Webhook signing secret (16+ characters; generated when not given)."),
    ] = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="E-mail recipient (repeatable).")] = None,
    event: Annotated[
        list[str] | None, typer.Option("--event", help="Event kind (repeatable; default: every kind).")
    ] = None,
    environment: Annotated[
        list[str] | None, typer.Option("--environment", help="Only these environments.")
    ] = None,
    tier: Annotated[
        list[str] | None, typer.Option("--tier", help="Only exposures of these SLA tiers.")
    ] = None,
    system: Annotated[list[str] | None, typer.Option("--system", help="Only these systems.")] = None,
    owner: Annotated[list[str] | None, typer.Option("--owner", help="Only systems of these owners.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Only systems with one of these tags.")
    ] = None,
    kev_only: Annotated[
        bool, typer.Option("--kev-only", help="Only exposures to KEV-listed vulnerabilities.")
    ] = False,
    digest: Annotated[
        bool, typer.Option("--digest", help="One message a day instead of one per event.")
    ] = False,
    digest_hour: Annotated[int, typer.Option("--digest-hour", help="The digest's hour (UTC, 0-23).")] = 8,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create the rule switched off.")] = False,
) -> None:
    """Add a rule; a webhook's signing secret is printed once (keep it where the receiver checks it)."""
    from pipeline.notifications.rules import RuleSpec, add_rule

    spec = RuleSpec(
        name=name,
        channel=channel,
        url=url,
        secret=secret,
        recipients=to or [],
        events=event or [],
        environments=environment or [],
        tiers=tier or [],
        systems=system or [],
        owners=owner or [],
        tags=tag or [],
        kev_only=kev_only,
        mode="digest" if digest else "immediate",
        digest_hour=digest_hour,
        enabled=not disabled,
    )
    with database(ctx, upgrade=True) as db:
        created = add_rule(db, org, spec)
    rule = created.rule
    console.print(f"rule {rule.id} {rule.name!r} of {rule.org} added: {rule.channel} to {rule.target}")
    if created.secret is not None and secret is None:
        console.print(f"signing secret (shown only now): {created.secret}")


@rules_app.command("list")
@reports_errors
def list_(ctx: typer.Context, org: OrgOption) -> None:
    """List the organization's rules (secrets are never shown again)."""
    from pipeline.notifications.rules import list_rules

    with database(ctx, upgrade=False) as db:
        rules = list_rules(db, org)
    if not rules:
        console.print(f"organization {org!r} has no notification rules")
        return
    table = Table("id", "name", "channel", "target", "events", "filters", "mode", "enabled", box=box.SIMPLE)
    for r in rules:
        mode = f"digest {r.digest_hour:02d}:00 UTC" if r.mode == "digest" else r.mode
        table.add_row(
            str(r.id),
            r.name,
            r.channel,
            r.target,
            ", ".join(r.events) or "all",
            _filters(r),
            mode,
            "yes" if r.enabled else "no",
        )
    console.print(table)


@rules_app.command("remove")
@reports_errors
def remove(ctx: typer.Context, org: OrgOption, rule: RuleArgument) -> None:
    """Remove a rule and its deliveries."""
    from pipeline.notifications.rules import find_rule, remove_rule

    with database(ctx, upgrade=False) as db:
        removed = remove_rule(db, org, find_rule(db, org, rule).id)
    console.print(f"rule {removed.id} {removed.name!r} of {removed.org} removed")


@rules_app.command("test")
@reports_errors
def test(ctx: typer.Context, org: OrgOption, rule: RuleArgument) -> None:
    """Send a test message (marked as one) through the rule's channel now and print the outcome."""
    from pipeline.notifications import DeliverySettings
    from pipeline.notifications.rules import find_rule, send_test

    delivery = DeliverySettings.from_settings(settings(ctx).notifications)
    with database(ctx, upgrade=False) as db:
        found = find_rule(db, org, rule)
        outcome = send_test(db, org, found.id, delivery)
    if not outcome.ok:
        raise fail(f"test message of rule {found.name!r} not delivered: {outcome.error}")
    console.print(f"test message of rule {found.name!r} delivered ({found.channel} to {found.target})")


@app.command("deliveries")
@reports_errors
def deliveries(
    ctx: typer.Context,
    org: OrgOption,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only messages given up after their last attempt.")
    ] = False,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only messages in this state: pending, sending, sent, failed."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10000, help="At most this many, newest first.")
    ] = 50,
) -> None:
    """List the organization's recent messages: status, attempts, next attempt, last error."""
    from pipeline.notifications.rules import list_deliveries

    with database(ctx, upgrade=False) as db:
        found = list_deliveries(db, org, status="failed" if failed else status, limit=limit)
    if not found:
        console.print(f"organization {org!r} has no {'failed ' if failed else ''}deliveries")
        return
    table = Table(
        "id", "rule", "event", "status", "attempts", "next attempt", "sent", "error", box=box.SIMPLE
    )
    for d in found:
        event = d.kind if d.kind != "digest" else f"digest of {d.events}"
        table.add_row(
            str(d.id),
            d.rule,
            event,
            d.status,
            str(d.attempts),
            when(d.next_attempt_at),
            when(d.sent_at),
            d.last_error or "",
        )
    console.print(table)
