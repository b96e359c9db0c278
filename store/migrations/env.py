"""Alembic environment: migrations of patchgap's tables, run from code or from the ``alembic`` tool.

``store.migrate`` runs them programmatically and hands over an open connection through
``config.attributes["connection"]``. From the command line (developers generating a revision:
``alembic -c store/migrations/alembic.ini revision --autogenerate -m "..."``) the URL comes from the
ini file's ``sqlalchemy.url``. SQLite migrations run in batch mode, because SQLite can alter tables
only by recreating them.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from store import schema  # noqa: F401  (registers every table on the metadata)
from store.db import make_engine
from store.tables.base import UTCDateTime

target_metadata = SQLModel.metadata
config = context.config


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions must not import model code that later changes: render our decorator as its plain type.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url in the alembic ini file")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run `patchgap db upgrade`")
run_migrations_online()
