"""What every command shares: settings from the context, database access, and turning errors into exit 2.

Schema policy: commands that write (``ingest``) bring the database to the current schema themselves, so
that a first ``patchgap ingest`` in an empty directory just works; commands that only read never change
the database and ask for ``patchgap db upgrade`` when the schema is missing or older than this version.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from core.errors import PatchgapError, SbomError
from core.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

# soft_wrap: message lines are read by scripts, so they are never broken at the terminal width.
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
if not console.is_terminal:
    # Piped output is read by scripts and people alike: wide enough that tables never elide values,
    # whatever COLUMNS a parent process (a CI runner, a test harness) happens to export.
    console.width = max(200, console.width)


def when(value: datetime | None) -> str:
    """A timestamp for tables: UTC, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "-"


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
        except OperationalError as exc:
            raise fail(f"database: {str(exc.orig).strip().splitlines()[0] if exc.orig else exc}") from None

    return wrapper


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("settings missing: the root callback did not run")
    return obj


def display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def database(ctx: typer.Context, *, upgrade: bool) -> Iterator[Engine]:
    """An engine on the configured database, migrated first (``upgrade``) or checked to be current."""
    from store.db import make_engine
    from store.migrate import current_revision, head_revision
    from store.migrate import upgrade as run_upgrade

    url = settings(ctx).database_url
    parsed = make_url(url)
    local_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    # Reading must not leave an empty database file behind.
    if not upgrade and local_file and not Path(str(parsed.database)).exists():
        raise PatchgapError(f"the database {display_url(url)} does not exist: run `patchgap db upgrade`")
    engine = make_engine(url)
    try:
        if upgrade:
            run_upgrade(engine)
        else:
            current, head = current_revision(engine), head_revision()
            if current != head:
                state = "has no patchgap schema" if current is None else f"is at schema {current}, not {head}"
                raise PatchgapError(f"the database {display_url(url)} {state}: run `patchgap db upgrade`")
        yield engine
    finally:
        engine.dispose()


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
