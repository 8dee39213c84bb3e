"""Persistence: users and their preferences, generations, model versions, corpora, training runs.

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) when ``DATABASE_URL`` points at one;
the schema is managed by the Alembic migrations in ``migrations/``.
"""

from bot.storage.database import (
    DEFAULT_DATABASE_URL,
    alembic_config,
    create_engine,
    create_session_maker,
    migrate_to_head,
    migrate_to_head_sync,
)
from bot.storage.repository import (
    Corpus,
    CorpusNotFoundError,
    Generation,
    ModelVersion,
    ModelVersionActiveError,
    ModelVersionNotFoundError,
    NotFoundError,
    Storage,
    StorageError,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingRunNotFoundError,
    TrainingRunStateError,
    User,
    UserNotFoundError,
    make_settings_key,
)
from bot.storage.schema import Base, CorpusSource, TrainingStatus, metadata

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Base",
    "Corpus",
    "CorpusNotFoundError",
    "CorpusSource",
    "Generation",
    "ModelVersion",
    "ModelVersionActiveError",
    "ModelVersionNotFoundError",
    "NotFoundError",
    "Storage",
    "StorageError",
    "TrainingAlreadyRunningError",
    "TrainingRun",
    "TrainingRunNotFoundError",
    "TrainingRunStateError",
    "TrainingStatus",
    "User",
    "UserNotFoundError",
    "alembic_config",
    "create_engine",
    "create_session_maker",
    "make_settings_key",
    "metadata",
    "migrate_to_head",
    "migrate_to_head_sync",
]
