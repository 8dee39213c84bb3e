"""The whole database schema, as SQLAlchemy 2 typed ORM models: the one place the rest of
the code (and ``migrations/env.py``, for ``metadata``) imports the tables from.

The tables are defined in ``bot/storage/tables/``, one module per subject: ``base`` (the
declarative base, its naming convention, the UTC timestamp type), ``users`` (users,
access, shared limits), ``generations`` (the update inbox and the generations),
``training`` (corpora, runs, model versions, blobs) and ``replicas`` (heartbeats and
schema compatibility). This module re-exports them so that callers need not know which.

The migrations in ``migrations/versions`` are written by hand to match these models;
``tests/test_storage.py`` compares a migrated database with this metadata, so any
change to a table needs a new revision.
"""

from __future__ import annotations

from bot.storage.tables.base import NAMING_CONVENTION, Base, UTCDateTime, utcnow
from bot.storage.tables.generations import GenerationRow, GenerationSource, UpdateRow
from bot.storage.tables.replicas import ReplicaRow, SchemaCompatRow
from bot.storage.tables.training import (
    LIVE_CHECK,
    LIVE_STATUSES,
    BlobRow,
    CorpusRow,
    CorpusSource,
    ModelVersionRow,
    TrainingRunRow,
    TrainingStatus,
)
from bot.storage.tables.users import LimitRefusalRow, UserAccessRow, UserLimitRow, UserRow

metadata = Base.metadata

__all__ = [
    "LIVE_CHECK",
    "LIVE_STATUSES",
    "NAMING_CONVENTION",
    "Base",
    "BlobRow",
    "CorpusRow",
    "CorpusSource",
    "GenerationRow",
    "GenerationSource",
    "LimitRefusalRow",
    "ModelVersionRow",
    "ReplicaRow",
    "SchemaCompatRow",
    "TrainingRunRow",
    "TrainingStatus",
    "UTCDateTime",
    "UpdateRow",
    "UserAccessRow",
    "UserLimitRow",
    "UserRow",
    "metadata",
    "utcnow",
]
