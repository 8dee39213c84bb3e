"""The ground every table stands on: the declarative base with its naming convention,
the UTC timestamp type, and the helpers the tables share.

The tables themselves are in this package's other modules, one per subject;
``bot.storage.schema`` gathers them all, and is where the rest of the code imports them
from. The migrations in ``migrations/versions`` are written by hand to match these
models; ``tests/test_storage.py`` compares a migrated database with their metadata, so
any change to a table needs a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

# Explicit, deterministic constraint names: SQLite batch migrations can only drop or
# recreate constraints they can name, and PostgreSQL would otherwise pick its own names.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timestamp type and hands back naive datetimes even for
    ``DateTime(timezone=True)``; normalising here keeps ordering and comparisons correct
    and means callers never see a naive value.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive value is ambiguous (local time? UTC?); refusing it catches the bug early.
            raise ValueError("naive datetime given to a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def in_values(column: str, values: type[StrEnum]) -> str:
    """The CHECK expression that ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
