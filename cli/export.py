"""Auditor exports (issue 7): ``patchgap export <format> --org ORG [--system NAME] [--from --to] [-o FILE]``.

Each command gathers its input through ``pipeline.exports`` and writes the exporter's bytes to ``-o FILE``
(default: a name made of the organization, the format and the as-of time, in the current directory).
VEX exports take ``--previous FILE`` (the last export of the same scope) to continue its document
history; without it the document starts at version 1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import console, database, reports_errors

if TYPE_CHECKING:
    from reports.exports.interface import ExportResult
    from reports.exports.records import TrackingState

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
    from reports.exports import csaf_vex, cyclonedx_vex, openvex

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

        with database(ctx, upgrade=False) as engine:
            result = export_vex(
                engine, org, fmt, system=system, as_of=_when(to, "--to"), previous=_previous(fmt, previous)
            )
        _write(result, output)

    command.__doc__ = f"Write the {fmt} document of an organization or one system."
    app.command(fmt)(command)


for _fmt in ("csaf-vex", "cyclonedx-vex", "openvex"):
    _vex_command(_fmt)


@app.command("cra-register")
@reports_errors
def cra_register(ctx: typer.Context, org: OrgOption, output: OutOption = None) -> None:
    """The CRA Article 14 register of a manufacturer organization (JSON)."""
    from pipeline.exports import cra_register as build

    with database(ctx, upgrade=False) as engine:
        result = build(engine, org)
    _write(result, output)


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
    with database(ctx, upgrade=False) as engine:
        result = export_nis2(engine, org, start=begin, end=_when(to, "--to"))
    _write(result, output)


def _report(pdf: bool) -> None:
    @reports_errors
    def command(ctx: typer.Context, org: OrgOption, to: ToOption = None, output: OutOption = None) -> None:
        from pipeline.exports import export_ciso

        with database(ctx, upgrade=False) as engine:
            result = export_ciso(engine, org, pdf=pdf, as_of=_when(to, "--to"))
        _write(result, output)

    command.__doc__ = f"The CISO overview report as {'PDF' if pdf else 'printable HTML'}."
    app.command("report-pdf" if pdf else "report-html")(command)


_report(pdf=True)
_report(pdf=False)


def register(root: typer.Typer) -> None:
    """``patchgap export …``."""
    root.add_typer(app, name="export")
