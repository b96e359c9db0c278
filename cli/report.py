"""Reports: ``patchgap report exposures|deploy-time`` and ``patchgap demo``.

The JSON of both reports comes from ``pipeline.exposures`` (the REST API returns the same documents);
this module only renders it as CSV or tables. Reports bring stored exposures up to date first (see
``pipeline.exposures``), so the database must be at the current schema.
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from cli.common import console, database, reports_errors

if TYPE_CHECKING:
    from pipeline.exposures.reports import DeployTimeReport, Summary

app = typer.Typer(help="Exposure and time-to-deploy reports.", no_args_is_help=True)

# The CSV columns, in this order: a stable contract (README). Lists are joined with ";".
CSV_FIELDS = (
    "system",
    "environment",
    "package",
    "ecosystem",
    "version",
    "vulnerability",
    "aliases",
    "advisories",
    "severity",
    "cvss",
    "kev",
    "epss",
    "first_seen",
    "last_affected_seen",
    "resolved_at",
    "resolution",
    "fix_available_at",
    "fix_available_source",
    "fixed_versions",
    "clock_start",
    "sla_tier",
    "sla_due",
    "sla_status",
    "stale_system",
    "deployed_versions",
    "upgrade_to",
    "analysis_state",  # the state of the analysis record that decides about it (triage), if any
    "owner",
    "tags",
)


class Status(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"
    excluded = "excluded"


class ExposureFormat(StrEnum):
    json = "json"
    csv = "csv"
    table = "table"


class DeployFormat(StrEnum):
    json = "json"
    table = "table"


OrgOption = Annotated[str, typer.Option("--org", help="Organization.")]
OwnerOption = Annotated[
    str | None, typer.Option("--owner", help="Only systems of this owner (team or e-mail; any case).")
]
TagOption = Annotated[
    list[str] | None,
    typer.Option("--tag", help="Only systems carrying this tag; repeat it for several (all must match)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="ISO",
        help="Evaluate the report at this moment (ISO 8601; UTC when no offset). Default: now.",
    ),
]


def parse_as_of(value: str | None, option: str = "--as-of") -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time", param_hint=option
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def exposures_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        # The affected versions at L, and each one's upgrade in the same order ("" where none is known).
        deployed = row.get("affected_versions", [])
        cells = {
            **row,
            "deployed_versions": [v["version"] for v in deployed],
            "upgrade_to": [v["upgrade_to"] or "" for v in deployed],
            "analysis_state": (row.get("analysis") or {}).get("state"),
        }
        writer.writerow([csv_cell(cells.get(f)) for f in CSV_FIELDS])
    return out.getvalue()


def _day(value: str | None) -> str:
    return value[:10] if value else "-"


def _exposures_table(rows: list[dict[str, Any]], status: Status) -> Table:
    table = Table(
        "system",
        "package",
        "version",
        "vulnerability",
        "severity",
        "first seen",
        "last affected",
        "resolved",
        "resolution",
        "fix available",
        "SLA tier",
        "SLA due",
        "SLA status",
        box=box.SIMPLE,
        title=f"{len(rows)} exposures ({status.value})",
    )
    for r in rows:
        table.add_row(
            r["system"] + (" (stale)" if r.get("stale_system") else ""),
            r["package"],
            r["version"],
            r["vulnerability"],
            r["severity"] + (" KEV" if r.get("kev") else ""),
            _day(r["first_seen"]),
            _day(r["last_affected_seen"]),
            _day(r["resolved_at"]),
            r["resolution"] or "open",
            _day(r["fix_available_at"])
            + (f" ({r['fix_available_source']})" if r["fix_available_source"] else ""),
            r["sla_tier"] or "-",
            _day(r["sla_due"]),
            r["sla_status"] or "-",
        )
    return table


@app.command("exposures")
@reports_errors
def exposures(
    ctx: typer.Context,
    *,
    org: OrgOption,
    status: Annotated[
        Status, typer.Option("--status", help="Which exposures (excluded: by not_affected/false_positive).")
    ] = (Status.open),
    output: Annotated[ExposureFormat, typer.Option("--format", help="Output format.")] = ExposureFormat.json,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    tag: TagOption = None,
) -> None:
    """One line per exposure of (system, package, vulnerability): when seen, fixed, and its SLA."""
    from pipeline.exposures.reports import SystemFilter, exposures_report

    when = parse_as_of(as_of)
    if output is ExposureFormat.json:
        _stream_exposures_json(ctx, org, status.value, when=when, owner=owner, tags=tag or ())
        return
    with database(ctx, upgrade=False) as db:
        rows = exposures_report(db, org, status.value, when, only=SystemFilter.of(owner, tag or ()))
    if output is ExposureFormat.csv:
        typer.echo(exposures_csv(rows), nl=False)
    else:
        console.print(_exposures_table(rows, status))


def _stream_exposures_json(
    ctx: typer.Context,
    org: str,
    status: str,
    *,
    when: datetime | None,
    owner: str | None,
    tags: Sequence[str],
) -> None:
    """``json.dumps(rows, indent=2)`` of the report, byte for byte, written row by row as the paged
    list reads them (sorted by system, package, vulnerability, first seen: the report's order)."""
    from pipeline.lists.exposures import ExposureQuery, iter_exposures

    query = ExposureQuery(
        status=status,  # type: ignore[arg-type]  # a Status value
        owner=owner,
        tags=tuple(tags),
        sort="system",
        as_of=when,
    )
    with database(ctx, upgrade=False) as db:
        rows = iter_exposures(db, org, query)
        first = next(rows, None)
        if first is None:
            typer.echo("[]")
            return
        typer.echo("[\n" + textwrap.indent(json.dumps(first, indent=2), "  "), nl=False)
        for row in rows:
            typer.echo(",\n" + textwrap.indent(json.dumps(row, indent=2), "  "), nl=False)
        typer.echo("\n]")


def _figure(value: float | None) -> str:
    return "not reached" if value is None else f"{value:g} d"


def _summary_rows(name: str, s: Summary) -> list[str]:
    ttd, window = s.time_to_deploy.conservative, s.exposure_window.conservative
    return [
        name,
        str(s.open + s.upgraded + s.removed + s.decommissioned),
        str(s.open),
        str(s.upgraded),
        str(s.removed),
        _figure(ttd.km_median_days),
        _figure(ttd.p90_days),
        " / ".join(f"{v:.0%}" for _, v in ttd.within_days),
        _figure(window.km_median_days),
    ]


def _render_gap(report: DeployTimeReport) -> None:
    """Where the fix clocks come from, and the gap split into upstream's part and the deployment's."""
    from core.display import days_text, percent_text

    gap = report.gap.to_json()
    clocks, upstream, days = gap["fix_clocks"], gap["upstream"], gap["exposure_days"]
    console.print(
        f"  fix clocks: {clocks['exact']} exact, {clocks['approximated']} approximated ("
        + ", ".join(f"{n} {source}" for source, n in clocks["by_source"].items())
        + ")"
    )
    console.print(
        f"  upstream (disclosure → fix released): median {days_text(upstream['median_days'], missing='-')}, "
        f"p90 {days_text(upstream['p90_days'], missing='-')} over {upstream['groups']} vulnerabilities; "
        f"exposure-days {days_text(days['total'], missing='0 d')}: waiting for a fix "
        f"{days_text(days['waiting_for_fix'], missing='0 d')} ({percent_text(days['upstream_share'])}), "
        f"waiting for deployment {days_text(days['waiting_for_deployment'], missing='0 d')} "
        f"({percent_text(days['deployment_share'])})"
    )
    last_resort = gap["last_resort_maintainer"]
    if last_resort["components"]:
        console.print(
            f"  last-resort maintainer: {last_resort['components']} deployed components "
            f"({last_resort['open_exposures']} open exposures) get their fix from it; "
            "upstream is unmaintained"
        )


def render_deploy_time(report: DeployTimeReport, org: str) -> None:
    """Tables for people: overall figures, SLA per tier, breakdown by system, monthly trend."""
    from core.time import rfc3339

    ttd, ttd_opt = report.overall.time_to_deploy.conservative, report.overall.time_to_deploy.optimistic
    window = report.overall.exposure_window.conservative
    console.print(f"time to deploy for {org}, as of {rfc3339(report.as_of)}")
    console.print(
        f"  time-to-deploy (M1, upgrade): median {_figure(ttd.km_median_days)} "
        f"(optimistic {_figure(ttd_opt.km_median_days)}), p90 {_figure(ttd.p90_days)}, "
        f"deployed within 7/30/90 d: {' / '.join(f'{v:.0%}' for _, v in ttd.within_days)} "
        f"({ttd.events} events, {ttd.censored} censored)"
    )
    console.print(
        f"  exposure window (M2, upgrade or removal): median {_figure(window.km_median_days)}, "
        f"p90 {_figure(window.p90_days)}, closed within 7/30/90 d: "
        f"{' / '.join(f'{v:.0%}' for _, v in window.within_days)}"
    )
    o = report.overall
    console.print(
        f"  exposures: {o.open} open, {o.upgraded} upgraded, {o.removed} removed, "
        f"{o.decommissioned} decommissioned; "
        f"{report.vex_excluded} excluded by triage "
        f"({', '.join(f'{n} {state}' for state, n in report.excluded_by_state) or 'none'}), "
        f"{report.risk_accepted} under an accepted risk; snapshot precision (R − L) median "
        f"{_figure(report.precision.median_days)}, max {_figure(report.precision.max_days)}"
    )
    _render_gap(report)
    for s in report.stale_systems:
        console.print(
            f"  stale: {s.system} (last snapshot {rfc3339(s.last_snapshot)}, cadence {s.cadence_days} d)"
        )
    sla = Table(
        "SLA tier",
        "days",
        "exposures",
        "met",
        "breached",
        "indeterminate",
        "open",
        "attainment",
        box=box.SIMPLE,
    )
    for t in report.sla:
        sla.add_row(
            t.tier,
            f"{t.days:g}",
            str(t.exposures),
            str(t.met),
            str(t.breached),
            str(t.indeterminate),
            str(t.open),
            "-" if t.attainment is None else f"{t.attainment:.0%}",
        )
    console.print(sla)
    systems = Table(
        "system",
        "exposures",
        "open",
        "upgraded",
        "removed",
        "median TTD",
        "p90 TTD",
        "within 7/30/90 d",
        "median window",
        box=box.SIMPLE,
    )
    for dimension, groups in report.breakdowns:
        if dimension == "system":
            for name, summary in groups:
                systems.add_row(*_summary_rows(name, summary))
    console.print(systems)
    trend = Table("month", "opened", "closed", "open at month end", box=box.SIMPLE)
    for m in report.monthly:
        trend.add_row(m.month, str(m.opened), str(m.closed), str(m.open_at_month_end))
    console.print(trend)


@app.command("deploy-time")
@reports_errors
def deploy_time_command(
    ctx: typer.Context,
    *,
    org: OrgOption,
    output: Annotated[DeployFormat, typer.Option("--format", help="Output format.")] = DeployFormat.json,
    as_of: AsOfOption = None,
    owner: OwnerOption = None,
    tag: TagOption = None,
) -> None:
    """Time-to-deploy and exposure window (Kaplan–Meier), SLA attainment, breakdowns and monthly trend."""
    from pipeline.exposures.reports import SystemFilter, deploy_time, deploy_time_json

    when = parse_as_of(as_of)
    with database(ctx, upgrade=False) as db:
        only = SystemFilter.of(owner, tag or ())
        if output is DeployFormat.json:
            typer.echo(json.dumps(deploy_time_json(db, org, when, only=only), indent=2))
            return
        report = deploy_time(db, org, when, only=only)
    render_deploy_time(report, org)


ROOT = Path(__file__).resolve().parents[1]


@reports_errors
def demo(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Organization to load the demo fleet into.")] = "demo",
    fleet: Annotated[Path, typer.Option("--fleet", help="Demo fleet folder.")] = ROOT
    / "sbom_samples"
    / "demo-fleet",
    advisories: Annotated[Path, typer.Option("--advisories", help="Bundled advisory snapshot.")] = (
        ROOT / "sbom_samples" / "advisories" / "demo"
    ),
) -> None:
    """Load the bundled demo fleet: weekly SBOMs, advisory snapshot, matching, VEX (idempotent)."""
    from pipeline.demo import load_demo

    with database(ctx, upgrade=True) as db:
        loaded = load_demo(db, org, fleet, advisories)
    console.print(
        f"demo fleet loaded into {org!r}: {loaded.snapshots_created} snapshots created, "
        f"{loaded.snapshots_unchanged} unchanged; {loaded.advisories} advisories; "
        f"{loaded.vex_statements} VEX statements; {loaded.exposures} exposure rows"
    )


def register(root: typer.Typer) -> None:
    """``patchgap report …`` and ``patchgap demo``."""
    root.add_typer(app, name="report")
    root.command("demo")(demo)
