"""What every table module shares: deterministic constraint names and a UTC datetime column type.

Timestamps are stored as UTC (``timestamp with time zone`` on PostgreSQL) and always read back as
timezone-aware UTC datetimes, on SQLite too (see ``UTCDateTime``). Each table module imports this one
before declaring its tables, so the naming convention is in place before the first table exists.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

# Deterministic constraint names: PostgreSQL and alembic need names to alter or drop constraints later,
# and SQLite batch migrations need them to recreate tables. Set before any table is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A datetime stored in UTC and returned timezone-aware on every dialect.

    SQLite has no time zone type and hands back naive datetimes; without this, values written as aware
    and read back as naive would compare unequal and sort wrongly against fresh ones. Naive input is
    taken as UTC (documented at the edges that accept it).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        # SQLite stores the string form; a fixed naive UTC form keeps lexical order == time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
