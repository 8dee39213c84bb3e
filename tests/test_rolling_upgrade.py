"""Rolling upgrades: a replica one release behind keeps serving a database the next release
migrated, when every step past its own head only expanded the schema.

The newer release is simulated as it would leave the database: ``alembic_version`` at a
revision this tree does not have, and ``schema_compat`` listing the revisions whose code
can serve that schema.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import io
import sqlite3
from pathlib import Path

import pytest

from bot.ops.cli import check_database, migrate
from bot.storage import migrate_to_head
from bot.storage.database import MIGRATIONS_DIR, schema_problems
from tests.conftest import TINY_TEXT
from tests.harness import running_bot
from tests.test_storage import LATEST_REVISION

NEWER = "0099"


def newer_release_migrated(db: Path, serves: list[str]) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (NEWER,))
        conn.execute("DELETE FROM schema_compat")
        conn.executemany("INSERT INTO schema_compat VALUES (?)", [(r,) for r in serves])


def revision_of(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return str(revision)


def test_every_migration_says_whether_it_only_expands_the_schema() -> None:
    for path in sorted((MIGRATIONS_DIR / "versions").glob("0*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        values = [
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and [ast.unparse(t) for t in node.targets] == ["EXPANDS_ONLY"]
        ]
        assert len(values) == 1, f"{path.name} does not set EXPANDS_ONLY once"
        assert isinstance(values[0], ast.Constant) and isinstance(values[0].value, bool), path


async def test_migrating_records_the_revisions_whose_code_can_serve_the_schema(
    tmp_path: Path,
) -> None:
    db = tmp_path / "bot.db"
    await migrate_to_head(f"sqlite+aiosqlite:///{db}")
    with sqlite3.connect(db) as conn:
        listed = {r for (r,) in conn.execute("SELECT revision FROM schema_compat")}
    # 0004 changed what its predecessor needed; everything after it only added.
    assert listed == {f"{n:04d}" for n in range(4, int(LATEST_REVISION) + 1)}


async def test_a_replica_one_release_behind_serves_a_database_an_expand_only_release_migrated(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    db = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{db}"
    await migrate_to_head(url)
    newer_release_migrated(db, [NEWER, LATEST_REVISION])
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        user = h.api.user(7301)
        [reply] = await h.ask(user, "/write في")
        assert (reply.raw_text or "").startswith("في")
        assert await schema_problems(h.services.storage.session_maker.kw["bind"], url) == []
        healthy, line = await check_database(url)
        assert healthy, line
    assert len(h.api.messages_to(user.id)) == 1
    assert revision_of(db) == NEWER  # untouched: nothing downgraded or re-run


@pytest.mark.parametrize(
    "listed",
    [
        [NEWER],  # the newer release's code only: a step dropped or tightened something
        [LATEST_REVISION],  # rows from before the newer revision: they say nothing of it
    ],
    ids=["not-expand-only", "stale-rows"],
)
async def test_a_database_past_a_step_that_is_not_expand_only_is_still_refused(
    tmp_path: Path, listed: list[str]
) -> None:
    db = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{db}"
    await migrate_to_head(url)
    newer_release_migrated(db, listed)
    before = db.read_bytes()
    out = io.StringIO()
    assert await asyncio.to_thread(functools.partial(migrate, url, out=out)) == 2
    assert out.getvalue() == (
        f"error: the database DATABASE_URL={url} is at revision {NEWER}, which this version "
        "of the bot does not know: a newer version migrated it. Run that version again, or "
        "restore the backup taken before the upgrade\n"
    )
    assert db.read_bytes() == before
    healthy, line = await check_database(url)
    assert not healthy and f"at revision {NEWER}, expected {LATEST_REVISION}" in line
