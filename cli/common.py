"""What every command shares: settings from the context, database access, and turning errors into exit 2.

Schema policy (``pipeline.database.open_database``): commands that write (``ingest``) bring the database
to the current schema themselves; commands that only read never change the database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from cli.tables import TableConsole
from core.errors import InputError, PatchgapError, SbomError
from core.settings import Settings

if TYPE_CHECKING:
    from pipeline.database import Database

P = ParamSpec("P")
R = TypeVar("R")

# soft_wrap: message lines are read by scripts, so they are never broken at the terminal width.
# Tables are laid out for 120 columns at most (cli.tables.TableConsole).
console = TableConsole(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
if not console.is_terminal:
    # Piped output is read by scripts and people alike: wide enough that tables never elide values,
    # whatever COLUMNS a parent process (a CI runner, a test harness) happens to export.
    console.width = max(200, console.width)


def when(value: datetime | None) -> str:
    """A timestamp for tables: UTC, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "-"


def day(value: datetime | None) -> str:
    """A date for tables where the time of day would crowd the columns: UTC, ``YYYY-MM-DD``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value is not None else "-"


def fail(message: str) -> typer.Exit:
    """Print ``error: <message>`` as one line on stderr; the caller raises the returned exit (status 2)."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(2)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn patchgap's own errors (and an unreachable database) into one line on stderr and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PatchgapError as exc:
            raise fail(str(exc)) from None

    return wrapper


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("settings missing: the root callback did not run")
    return obj


def display_url(url: str) -> str:
    from pipeline.database import display_url as hidden

    return hidden(url)


@contextmanager
def database(ctx: typer.Context, *, upgrade: bool) -> Iterator[Database]:
    """The configured database, migrated first (``upgrade``) or checked to be current; closed after."""
    from pipeline.database import open_database

    db = open_database(settings(ctx).database_url, upgrade=upgrade)
    try:
        yield db
    finally:
        db.dispose()


def read_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, reading at most one byte over the limit (the reader then refuses it)."""
    try:
        with path.open("rb") as handle:
            return handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise SbomError(str(path), "no such file") from None
    except IsADirectoryError:
        raise SbomError(str(path), "is a directory, not a file") from None
    except OSError as exc:
        raise SbomError(str(path), f"cannot read: {exc.strerror or exc}") from None


#: ``--create-org`` of the commands that would otherwise create an organization on first use.
CreateOrgOption = Annotated[
    bool,
    typer.Option(
        "--create-org",
        help="Create the organization if it does not exist (without it, an unknown --org is an error).",
    ),
]


def require_org(db: Database, org: str, *, create: bool) -> None:
    """Refuse an organization that does not exist unless ``create``: a typo in ``--org`` must not
    create a tenant. The error names the known organizations."""
    from pipeline.organizations import organization_names

    if create:
        return
    names = organization_names(db)
    if org not in names:
        known = ", ".join(names) if names else "none yet"
        raise InputError(
            "--org",
            f"organization {org!r} does not exist (known: {known}); give --create-org to create it",
        )
