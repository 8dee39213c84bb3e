"""The database schema as SQLAlchemy 2 typed ORM models, one module per subject.

Importing any of them imports them all (below), so ``Base.metadata`` always holds every
table, whichever module was imported first. Code imports the tables from
``bot.storage.schema``.
"""

from bot.storage.tables import generations, replicas, training, users

__all__ = ["generations", "replicas", "training", "users"]
