"""``patchgap ingest FILE...``: store SBOM snapshots of one system.

All the files of one command are one transaction: if any file is refused, nothing of the command is
written (fix the file and run the same command again; files already stored then report "unchanged").
The database is migrated to the current schema first, so the first ingest in an empty directory works.
After the ingest transaction commits, the package versions never matched before are matched against
the stored advisories (``pipeline.match.match_new``), so the new snapshot is matched when the command
returns; a failure there leaves the stored snapshots in place (``patchgap match`` finishes the job).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import (
    CreateOrgOption,
    console,
    database,
    err_console,
    read_file,
    reports_errors,
    require_org,
    settings,
)

if TYPE_CHECKING:
    from rich.progress import Progress


def _parse_observed_at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None


def _progress(total: int) -> AbstractContextManager[Progress | None]:
    """A progress bar on stderr for people watching several files; none for a pipe, a log or one file."""
    if total < 2 or not err_console.is_terminal:
        return nullcontext()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
    )


@reports_errors
def ingest(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="SBOM files of the system.")],
    *,
    org: Annotated[str, typer.Option("--org", help="Organization (must exist, unless --create-org).")],
    system: Annotated[str, typer.Option("--system", help="System name (created on first use).")],
    observed_at: Annotated[
        str | None,
        typer.Option(
            "--observed-at",
            help="When the system ran this (ISO 8601; UTC when no offset). Overrides the SBOM's timestamp; "
            "required when the SBOM has none.",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option("--env", help="Environment of the system, set when it is created (default prod)."),
    ] = None,
    create_org: CreateOrgOption = False,
) -> None:
    """Ingest SBOM files as snapshots of one system; re-ingesting the same file reports "unchanged"."""
    from pipeline.ingest import SbomUpload, ingest_sboms
    from pipeline.match import match_new

    when = _parse_observed_at(observed_at)
    max_bytes = settings(ctx).max_sbom_bytes
    with database(ctx, upgrade=True) as db:
        require_org(db, org, create=create_org)
        with _progress(len(files)) as progress:
            advance = None
            if progress is not None:
                task = progress.add_task("", total=len(files))

                def advance(upload: SbomUpload) -> None:
                    progress.update(task, advance=1, description=upload.source)

            uploads = [SbomUpload(read_file(path, max_bytes), str(path), observed_at=when) for path in files]
            results = ingest_sboms(
                db,
                uploads,
                org=org,
                system=system,
                environment=env,
                max_bytes=max_bytes,
                progress=advance,
            )
        for r in results:
            console.print(
                f"{r.source}: {r.status} snapshot {r.snapshot_id} observed {r.observed_at.isoformat()}, "
                f"{r.component_count} components ({r.not_assessable_count} not assessable), "
                f"{len(r.quality)} quality flags"
            )
        run = match_new(db)
    # On stderr: stdout keeps one line per file, which scripts (and tests) read.
    err_console.print(
        f"matched {run.evaluated} new package versions: {run.affected} affected, "
        f"{run.unknown} undetermined ({run.seconds * 1000:.0f} ms)"
    )


def register(root: typer.Typer) -> None:
    """Add ``patchgap ingest`` to the root app."""
    root.command("ingest")(ingest)
