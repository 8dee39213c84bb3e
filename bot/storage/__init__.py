"""Persistence: users and their preferences, generations, model versions, corpora, training runs.

SQLite (aiosqlite) by default, PostgreSQL (asyncpg) when ``DATABASE_URL`` points at one;
the schema is managed by the Alembic migrations in ``migrations/``.
"""

from bot.storage.database import (
    DEFAULT_DATABASE_URL,
    NewerDatabaseError,
    alembic_config,
    create_engine,
    create_session_maker,
    migrate_to_head,
    migrate_to_head_sync,
)
from bot.storage.records import (
    Corpus,
    CorpusNotFoundError,
    Generation,
    ModelVersion,
    ModelVersionActiveError,
    ModelVersionNotFoundError,
    ModelVersionPrunedError,
    NotFoundError,
    StorageError,
    TrainingAlreadyRunningError,
    TrainingRun,
    TrainingRunNotFoundError,
    TrainingRunStateError,
    User,
    UserNotFoundError,
)
from bot.storage.repository import Storage
from bot.storage.schema import Base, CorpusSource, GenerationSource, TrainingStatus, metadata
from bot.storage.session import make_settings_key

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Base",
    "Corpus",
    "CorpusNotFoundError",
    "CorpusSource",
    "Generation",
    "GenerationSource",
    "ModelVersion",
    "ModelVersionActiveError",
    "ModelVersionNotFoundError",
    "ModelVersionPrunedError",
    "NewerDatabaseError",
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
