"""Auditor exports (issue 7): ``patchgap export <format> --org ORG [--system NAME] [--from --to] [-o FILE]``.

One command per format of the registry (``pipeline.export_formats``), built here by the input the format
renders: VEX documents take ``--system``, ``--to`` and ``--previous FILE`` (the last export of the same
scope, whose document history continues; without it the document starts at version 1); the CRA register
``--to`` and ``--format`` (its renderings); the NIS2 evidence pack ``--from`` and ``--to``; the CISO
report ``--to``. Each command calls ``pipeline.exports.export`` and writes the bytes to ``-o FILE``
(default: a name made of the organization, the format and the as-of time, in the current directory).

``cra-register`` is for organizations marked as manufacturers; ``cra-case set|list`` records what the
manufacturer knows better than patchgap: an awareness time with a note, when each of the three Article 14
reports was submitted, and the mitigations applied.

No ``from __future__ import annotations`` here: a command's ``--format`` choices are built per command,
and typer must see that annotation as an object, not as a name it cannot resolve.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import console, database, reports_errors
from core.errors import InputError
from pipeline.export_formats import ExportFormat, InputKind, commands

if TYPE_CHECKING:
    from pipeline.export_formats import ExportResult

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


def _write(result: "ExportResult", output: Path | None) -> None:
    path = output or Path(result.filename)
    path.write_bytes(result.content)
    console.print(f"wrote {path} ({len(result.content)} bytes, sha256 {result.sha256})")


def _read_previous(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read the previous export: {exc}") from None


def _single(formats: tuple[ExportFormat, ...]) -> str:
    if len(formats) > 1:  # only the CRA register's command offers --format; others would need it too
        raise TypeError(f"export {formats[0].command_name}: several renderings but no --format option")
    return formats[0].command_name


def _vex_command(formats: tuple[ExportFormat, ...]) -> Callable[..., None]:
    name = _single(formats)

    def command(
        ctx: typer.Context,
        *,
        org: OrgOption,
        system: SystemOption = None,
        to: ToOption = None,
        previous: PreviousOption = None,
        output: OutOption = None,
    ) -> None:
        from pipeline.exports import export

        with database(ctx, upgrade=False) as db:
            result = export(
                db,
                org,
                name,
                system=system,
                as_of=_when(to, "--to"),
                previous=_read_previous(previous) if previous is not None else None,
                previous_origin=str(previous),
            )
        _write(result, output)

    return command


def _cra_command(formats: tuple[ExportFormat, ...]) -> Callable[..., None]:
    name = formats[0].command_name
    choices = " or ".join(f.variant_help or f.variant for f in formats)
    VariantOption = Annotated[str, typer.Option("--format", help=f"{choices}.")]

    def command(
        ctx: typer.Context,
        org: OrgOption,
        fmt: VariantOption = formats[0].variant,
        to: ToOption = None,
        output: OutOption = None,
    ) -> None:
        from pipeline.exports import export

        with database(ctx, upgrade=False) as db:
            result = export(db, org, name, variant=fmt, as_of=_when(to, "--to"))
        _write(result, output)

    return command


def _evidence_command(formats: tuple[ExportFormat, ...]) -> Callable[..., None]:
    name = _single(formats)

    def command(
        ctx: typer.Context,
        org: OrgOption,
        start: FromOption = None,
        to: ToOption = None,
        output: OutOption = None,
    ) -> None:
        from pipeline.exports import export

        begin = _when(start, "--from")
        if begin is None:
            raise typer.BadParameter("the evidence pack needs a period start", param_hint="--from")
        with database(ctx, upgrade=False) as db:
            result = export(db, org, name, start=begin, as_of=_when(to, "--to"))
        _write(result, output)

    return command


def _ciso_command(formats: tuple[ExportFormat, ...]) -> Callable[..., None]:
    name = _single(formats)

    def command(ctx: typer.Context, org: OrgOption, to: ToOption = None, output: OutOption = None) -> None:
        from pipeline.exports import export

        with database(ctx, upgrade=False) as db:
            result = export(db, org, name, as_of=_when(to, "--to"))
        _write(result, output)

    return command


# One command builder per input a format renders (the options follow from the input).
_BUILDERS: dict[InputKind, Callable[[tuple[ExportFormat, ...]], Callable[..., None]]] = {
    "vex": _vex_command,
    "cra": _cra_command,
    "evidence": _evidence_command,
    "ciso": _ciso_command,
}

for _name, _formats in commands().items():
    _command: Any = reports_errors(_BUILDERS[_formats[0].input](_formats))
    _command.__doc__ = _formats[0].help
    app.command(_name)(_command)


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


def register(root: typer.Typer) -> None:
    """``patchgap export …``."""
    root.add_typer(app, name="export")
