"""Which releases can serve a schema: rolling upgrades across expand-only migrations.

Each migration module says whether it only expands the schema: a module-level
``EXPANDS_ONLY = True`` (new tables, nullable columns or columns with defaults, new
indexes: the previous revision's code reads and writes as before) or ``False`` (it
renames, drops or tightens something). Whenever the migrations reach the head, the
revisions whose code can serve the resulting schema are written to ``schema_compat``, in
the migration's own transaction: the head, and every revision below it reached through
expand-only steps. A replica one release behind then finds a revision it does not know
(a newer release migrated the database); instead of refusing to start, it looks for its
own head in ``schema_compat`` and serves without touching the schema. A database
migrated past a step that is not expand-only does not list it, and it still refuses.

Only releases that ship this module can read the table, so the first release with it
helps the next roll-out, not the current one.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, delete, insert, inspect, select

from bot.storage.schema import SchemaCompatRow

# The module-level flag each migration sets: True when it only expands the schema.
EXPANDS_ONLY = "EXPANDS_ONLY"


def expands_only(scripts: ScriptDirectory, revision: str) -> bool:
    """Whether the migration to ``revision`` leaves the previous code able to serve.

    A migration that does not say is taken as not expand-only: when in doubt, refuse.
    """
    script = scripts.get_revision(revision)
    return script is not None and getattr(script.module, EXPANDS_ONLY, False) is True


def compatible_revisions(scripts: ScriptDirectory, head: str) -> list[str]:
    """``head`` and the revisions below it whose code can serve ``head``'s schema."""
    found = [head]
    current = scripts.get_revision(head)
    while current is not None and expands_only(scripts, current.revision):
        below = current.down_revision
        if not isinstance(below, str):  # the base, or a merge point: stop there
            break
        found.append(below)
        current = scripts.get_revision(below)
    return found


def unknown_revision(scripts: ScriptDirectory, heads: Iterable[str]) -> str | None:
    """The first of the database's ``heads`` these migrations do not have, if any."""
    for head in heads:
        try:
            scripts.get_revision(head)
        except CommandError:  # alembic's ResolutionError: a newer release's revision
            return head
    return None


def record(connection: Connection, scripts: ScriptDirectory) -> None:
    """Write ``schema_compat`` for a database at ``scripts``' head (a no-op elsewhere:
    after a downgrade, or at revisions from before the table existed)."""
    head = scripts.get_current_head()
    at = set(MigrationContext.configure(connection).get_current_heads())
    if head is None or at != {head}:
        return
    if not inspect(connection).has_table(SchemaCompatRow.__tablename__):
        return
    connection.execute(delete(SchemaCompatRow))
    connection.execute(
        insert(SchemaCompatRow), [{"revision": r} for r in compatible_revisions(scripts, head)]
    )


def serves(connection: Connection, own_head: str | None, db_heads: Iterable[str]) -> bool:
    """Whether this code (at ``own_head``) may serve the database as it is (at
    ``db_heads``, which a newer release migrated).

    The rows must have been written at the database's own revision (it is listed): rows
    left from an earlier revision say nothing about a schema migrated past it by other
    means, and then the answer is no.
    """
    if own_head is None or not inspect(connection).has_table(SchemaCompatRow.__tablename__):
        return False
    listed = set(connection.scalars(select(SchemaCompatRow.revision)))
    return own_head in listed and set(db_heads) <= listed
