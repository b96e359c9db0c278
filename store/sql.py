"""Small SQL helpers every query module shares: a model's table, a dialect INSERT, chunked IN lists."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

T = TypeVar("T")

#: The largest row id the schema can hold: ids are INTEGER columns, 32-bit on PostgreSQL. A larger id
#: (from a URL, a command line) names no row on either database, so lookups answer "not found" without
#: asking a database that would refuse the parameter.
MAX_ID = 2**31 - 1


def storable_id(value: int) -> bool:
    """Whether ``value`` can be a row id (1 ..= :data:`MAX_ID`)."""
    return 1 <= value <= MAX_ID


def table_of(model: type[Any]) -> sa.Table:
    """The ``Table`` behind a SQLModel table class."""
    return cast(sa.Table, model.__table__)


def dialect_insert(
    bind: Session | Connection, target: type[Any] | sa.Table
) -> postgresql.Insert | sqlite.Insert:
    """A dialect INSERT, so that ``ON CONFLICT`` clauses are available on both databases."""
    table = target if isinstance(target, sa.Table) else table_of(target)
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    if name == "postgresql":
        # Loaded when a PostgreSQL database is used: ~20 ms of every command's start on SQLite otherwise.
        from sqlalchemy.dialects import postgresql  # noqa: PLC0415

        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported database dialect {name!r}")  # pragma: no cover


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``: IN lists stay under the databases' parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_of(
    session: Any, stmt: Any, column: Any, ids: Sequence[int] | None, size: int = 900
) -> Iterator[Any]:
    """The rows of ``stmt``, or (``ids`` given) of ``stmt`` narrowed to ``column`` in ``ids``, asked
    in IN lists of at most ``size``."""
    if ids is None:
        yield from session.execute(stmt)
        return
    for chunk in chunks(sorted(set(ids)), size):
        yield from session.execute(stmt.where(column.in_(chunk)))


def driver_rows(session: Any, stmt: Any) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` as the driver's cursor returns them: plain tuples, without SQLAlchemy's
    result rows and type processing (at hundreds of thousands of rows those cost more than the read
    itself). Its parameters are bound, not inlined; they must be values the driver takes as they are
    (numbers, text), and the columns are read as the driver returns them (SQLite: booleans as 0/1)."""
    compiled = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args = tuple(params[name] for name in compiled.positiontup) if compiled.positional else params
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


# (statement, dialect and driver) → the statement, its SQL text and the values of the parameters it
# binds itself.
_TEXTS: dict[tuple[int, str], tuple[Any, str, dict[str, Any]]] = {}


def named_driver_rows(session: Any, stmt: Any, **params: Any) -> list[tuple[Any, ...]]:
    """:func:`driver_rows` of a statement whose SQL text is the same for any values of ``params`` (a
    list bound as one PostgreSQL array, ``= ANY``, not an expanding ``IN``), compiled once per dialect
    and bound by name: for drivers with named parameters (psycopg). The statement is kept with its
    text, so it must be one built once (a module's constant), not per call."""
    dialect = session.get_bind().dialect
    key = (id(stmt), f"{dialect.name}+{dialect.driver}")  # the driver decides the parameters' style
    found = _TEXTS.get(key)
    if found is None:
        compiled = stmt.compile(dialect=dialect)
        found = _TEXTS[key] = (stmt, str(compiled), dict(compiled.params))
    _, text, bound = found
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.execute(text, {**bound, **params})
        return list(cursor.fetchall())
    finally:
        cursor.close()
