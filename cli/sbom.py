"""``patchgap sbom check``: read an SBOM and show what patchgap would store, without storing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from cli.common import console, read_file, reports_errors, settings

app = typer.Typer(help="SBOM files.", no_args_is_help=True)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items())


@app.command("check")
@reports_errors
def check(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE", help="SBOM file.")]
) -> None:
    """Show format, spec version, components, not-assessable components by reason and quality flags."""
    from pipeline.check import check_sbom

    max_bytes = settings(ctx).max_sbom_bytes
    result = check_sbom(read_file(file, max_bytes), str(file), max_bytes=max_bytes)
    parsed = result.parsed
    subject = parsed.subject
    console.print(f"file:            {file}")
    console.print(f"format:          {parsed.format} {parsed.spec_version}")
    console.print(f"serial number:   {parsed.serial_number or '-'}")
    when = parsed.timestamp.isoformat() if parsed.timestamp else "none (ingest needs --observed-at)"
    console.print(f"timestamp:       {when}")
    if subject is not None:
        console.print(f"describes:       {subject.name}{'@' + subject.version if subject.version else ''}")
    if parsed.tools:
        tools = ", ".join(f"{t.name} {t.version}" if t.version else t.name for t in parsed.tools)
        console.print(f"tools:           {tools}")
    console.print(f"components:      {len(parsed.components)}")
    console.print(f"  assessable:    {result.package_count} ({_counts(result.purl_types) or '-'})")
    not_assessable = sum(result.not_assessable_by_reason.values())
    console.print(f"  not assessable: {not_assessable} ({_counts(result.not_assessable_by_reason) or '-'})")
    if parsed.vulnerability_count:
        console.print(f"vulnerabilities: {parsed.vulnerability_count} (stated in the SBOM)")
    if not parsed.quality:
        console.print("quality flags:   none")
        return
    table = Table("quality flag", "finding", "rule", box=box.SIMPLE)
    for flag in parsed.quality:
        table.add_row(flag.code, flag.message, flag.reference)
    console.print(table)
