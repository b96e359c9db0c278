"""Auditor exports (issue 7): ``patchgap export <format> --org ORG [--system NAME] [--from --to] [-o FILE]``.

Each command gathers its input through ``pipeline.exports`` and writes the exporter's bytes to ``-o FILE``
(default: a name made of the organization, the format and the as-of time, in the current directory).
VEX exports take ``--previous FILE`` (the last export of the same scope) to continue its document
history; without it the document starts at version 1.

``cra-register`` (JSON or ``--format csv``) is for organizations marked as manufacturers; ``cra-case
set|list`` records what the manufacturer knows better than patchgap: an awareness time with a note,
when each of the three Article 14 reports was submitted, and the mitigations applied.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, database, reports_errors

if TYPE_CHECKING:
    from reports.exports.inputs import TrackingState
    from reports.exports.interface import ExportResult

app = typer.Typer(
    help="Auditor exports: VEX documents, CRA register, NIS2 evidence, CISO report.", no_args_is_help=True
)

OrgOption = Annotated[str, typer.Option("--org", help="Organization.")]
SystemOption = Annotated[str | None, typer.Option("--system", help="One system instead of the organization.")]
OutOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Output file (default: a generated name).")
]
FromOption = Annotated[str | None, typer.Option("--from", help="Period start (ISO 8601).")]
ToOption = Annotated[
    str | None, typer.Option("--to", help="Period end / as-of time (ISO 8601, default now).")
]
PreviousOption = Annotated[
    Path | None,
    typer.Option("--previous", help="The previous export of the same scope (continues its history)."),
]


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time", param_hint=option
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _write(result: ExportResult, output: Path | None) -> None:
    path = output or Path(result.filename)
    path.write_bytes(result.content)
    console.print(f"wrote {path} ({len(result.content)} bytes, sha256 {result.sha256})")


def _previous(fmt: str, path: Path | None) -> TrackingState | None:
    if path is None:
        return None
    from core.errors import InputError
    from reports.exports.vex import csaf as csaf_vex
    from reports.exports.vex import cyclonedx as cyclonedx_vex
    from reports.exports.vex import openvex

    readers = {
        "csaf-vex": csaf_vex.tracking_from_document,
        "cyclonedx-vex": cyclonedx_vex.tracking_from_document,
        "openvex": openvex.tracking_from_document,
    }
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read the previous export: {exc}") from None
    return readers[fmt](doc, origin=str(path))


def _vex_command(fmt: str) -> None:
    @reports_errors
    def command(
        ctx: typer.Context,
        *,
        org: OrgOption,
        system: SystemOption = None,
        to: ToOption = None,
        previous: PreviousOption = None,
        output: OutOption = None,
    ) -> None:
        from pipeline.exports import export_vex

        with database(ctx, upgrade=False) as db:
            result = export_vex(
                db, org, fmt, system=system, as_of=_when(to, "--to"), previous=_previous(fmt, previous)
            )
        _write(result, output)

    command.__doc__ = f"Write the {fmt} document of an organization or one system."
    app.command(fmt)(command)


for _fmt in ("csaf-vex", "cyclonedx-vex", "openvex"):
    _vex_command(_fmt)


@app.command("cra-register")
@reports_errors
def cra_register(
    ctx: typer.Context,
    org: OrgOption,
    fmt: Annotated[str, typer.Option("--format", help="json (schema-valid) or csv.")] = "json",
    to: ToOption = None,
    output: OutOption = None,
) -> None:
    """The CRA Article 14 register of a manufacturer organization (`patchgap orgs set ORG --manufacturer`)."""
    from pipeline.exports import cra_register as build

    with database(ctx, upgrade=False) as db:
        result = build(db, org, _when(to, "--to"), fmt=fmt)
    _write(result, output)


cra_case = typer.Typer(
    help="The manufacturer's CRA records per product and vulnerability: awareness, submissions, mitigations.",
    no_args_is_help=True,
)
app.add_typer(cra_case, name="cra-case")


@cra_case.command("set")
@reports_errors
def cra_case_set(
    ctx: typer.Context,
    *,
    org: OrgOption,
    system: Annotated[str, typer.Option("--system", help="The product (system).")],
    vulnerability: Annotated[
        str, typer.Option("--vulnerability", help="Any id or alias of the vulnerability.")
    ],
    aware_at: Annotated[
        str | None, typer.Option("--aware-at", help="Awareness time to use instead of the recorded one.")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why (kept with the awareness time).")] = None,
    clear_awareness: Annotated[
        bool, typer.Option("--clear-awareness", help="Drop the override: the recorded facts apply again.")
    ] = False,
    early_warning_at: Annotated[
        str | None, typer.Option("--early-warning-at", help="When the early warning was submitted.")
    ] = None,
    notification_at: Annotated[
        str | None, typer.Option("--notification-at", help="When the notification was submitted.")
    ] = None,
    final_report_at: Annotated[
        str | None, typer.Option("--final-report-at", help="When the final report was submitted.")
    ] = None,
    mitigation: Annotated[
        list[str] | None,
        typer.Option("--mitigation", help="A mitigation applied (repeatable; replaces the stored list)."),
    ] = None,
) -> None:
    """Record an awareness override (with a note), report submissions or mitigations; prints the case."""
    from pipeline.cra import CaseChanges, set_case

    changes = CaseChanges(
        awareness_at=_when(aware_at, "--aware-at"),
        awareness_note=note,
        clear_awareness=clear_awareness,
        early_warning_at=_when(early_warning_at, "--early-warning-at"),
        notification_at=_when(notification_at, "--notification-at"),
        final_report_at=_when(final_report_at, "--final-report-at"),
        mitigations=tuple(mitigation) if mitigation is not None else None,
    )
    with database(ctx, upgrade=True) as db:
        case = set_case(db, org, system, vulnerability, changes)
    typer.echo(json.dumps(case, indent=2))


@cra_case.command("list")
@reports_errors
def cra_case_list(ctx: typer.Context, org: OrgOption) -> None:
    """The manufacturer's records of the organization, as JSON."""
    from pipeline.cra import list_cases

    with database(ctx, upgrade=False) as db:
        cases = list_cases(db, org)
    typer.echo(json.dumps(cases, indent=2))


@app.command("nis2-evidence")
@reports_errors
def nis2_evidence(
    ctx: typer.Context,
    org: OrgOption,
    start: FromOption = None,
    to: ToOption = None,
    output: OutOption = None,
) -> None:
    """The NIS2 evidence pack (zip with MANIFEST.sha256) for the period --from .. --to."""
    from pipeline.exports import export_nis2

    begin = _when(start, "--from")
    if begin is None:
        raise typer.BadParameter("the evidence pack needs a period start", param_hint="--from")
    with database(ctx, upgrade=False) as db:
        result = export_nis2(db, org, start=begin, end=_when(to, "--to"))
    _write(result, output)


def _report(pdf: bool) -> None:
    @reports_errors
    def command(ctx: typer.Context, org: OrgOption, to: ToOption = None, output: OutOption = None) -> None:
        from pipeline.exports import export_ciso

        with database(ctx, upgrade=False) as db:
            result = export_ciso(db, org, pdf=pdf, as_of=_when(to, "--to"))
        _write(result, output)

    command.__doc__ = f"The CISO overview report as {'PDF' if pdf else 'printable HTML'}."
    app.command("report-pdf" if pdf else "report-html")(command)


_report(pdf=True)
_report(pdf=False)


def register(root: typer.Typer) -> None:
    """``patchgap export …``."""
    root.add_typer(app, name="export")
