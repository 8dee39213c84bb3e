"""The storage layer against real databases.

Every backend-agnostic test runs on a fresh SQLite file in ``tmp_path`` and, when
``TEST_POSTGRES_URL`` is set, also on a fresh PostgreSQL database created for the test
and dropped after it. The URL needs a role allowed to CREATE DATABASE on PostgreSQL 13+,
e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, insert, inspect, make_url, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import (
    CorpusSource,
    ModelVersion,
    ModelVersionActiveError,
    ModelVersionNotFoundError,
    Storage,
    TrainingAlreadyRunningError,
    TrainingRunStateError,
    TrainingStatus,
    UserNotFoundError,
    alembic_config,
    create_engine,
    make_settings_key,
    metadata,
    migrate_to_head,
)
from bot.storage.schema import GenerationRow, ModelVersionRow, TrainingRunRow, UserRow
from tests.harness import migrated_database
from tests.postgres import fresh_postgres_database, migrated_postgres_template, needs_postgres

BACKENDS = ["sqlite", pytest.param("postgresql", marks=needs_postgres)]
SETTINGS = {"steps": 200, "seq_len": 64, "batch_size": 32, "lr": 0.002, "val_fraction": 0.1}


@asynccontextmanager
async def fresh_database(backend: str, directory: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
        return
    async with fresh_postgres_database("test_storage") as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A :class:`Storage` on a new database that starts at the head revision: a copy of
    one migrated once per test process (the migrations are tested on empty databases,
    through ``database_url``)."""
    if request.param == "sqlite":
        path = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(migrated_database(), path)
        opened = await Storage.open(f"sqlite+aiosqlite:///{path}")
        yield opened
        await opened.close()
        return
    template = await migrated_postgres_template()
    async with fresh_postgres_database("test_storage", template=template) as url:
        opened = await Storage.open(url)
        yield opened
        await opened.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"


async def run_on(url: str, fn: Any) -> Any:
    """Run ``fn(sync_connection)`` on a short-lived engine."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_snapshot(conn: Connection) -> dict[str, Any]:
    """Everything the database says about our tables, in comparable form.

    Autogenerate ignores CHECK constraints and partial-index predicates, so they are
    compared here explicitly.
    """
    insp = inspect(conn)
    snapshot: dict[str, Any] = {}
    for table in sorted(metadata.tables):
        snapshot[table] = {
            "columns": sorted(
                (c["name"], c["type"].compile(dialect=conn.dialect), c["nullable"])
                for c in insp.get_columns(table)
            ),
            "pk": insp.get_pk_constraint(table),
            "fks": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    tuple(sorted((fk.get("options") or {}).items())),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (
                    ix["name"],
                    tuple(ix["column_names"]),
                    ix["unique"],
                    # Partial-index predicates come back as SQL text (or TextClause).
                    tuple(
                        (option, " ".join(str(value).split()))
                        for option, value in sorted((ix.get("dialect_options") or {}).items())
                    ),
                )
                for ix in insp.get_indexes(table)
            ),
            "checks": sorted(
                (ck["name"], " ".join(ck["sqltext"].split()))
                for ck in insp.get_check_constraints(table)
            ),
            "uniques": sorted(
                (uq["name"], tuple(uq["column_names"])) for uq in insp.get_unique_constraints(table)
            ),
        }
    return snapshot


async def add_user(storage: Storage, user_id: int, name: str = "Ada") -> None:
    await storage.upsert_user(user_id, name, None, None, "en")


async def add_version(storage: Storage, *, activate: bool = False, note: str = "") -> ModelVersion:
    return await storage.register_model_version(
        checkpoint_path=f"/ckpt/{note or uuid.uuid4().hex}.pt",
        checkpoint_sha256="c" * 64,
        corpus_sha256="a" * 64,
        corpus_chars=1000,
        vocab_size=40,
        steps=100,
        train_loss=1.5,
        val_loss=1.7,
        note=note or None,
        activate=activate,
    )


async def add_generation(
    storage: Storage,
    user_id: int,
    *,
    version_id: int | None = None,
    latency_ms: float = 10.0,
    seed: str = "seed",
) -> int:
    return await storage.add_generation(
        user_id=user_id,
        chat_id=user_id,
        seed=seed,
        temperature=0.8,
        length=100,
        output=seed + " and more",
        model_version_id=version_id,
        latency_ms=latency_ms,
    )


async def backdate(storage: Storage, generation_id: int, when: datetime) -> None:
    async with storage.session_maker() as session, session.begin():
        await session.execute(
            update(GenerationRow).where(GenerationRow.id == generation_id).values(created_at=when)
        )


async def add_corpus(storage: Storage, sha: str = "a" * 64) -> int:
    corpus = await storage.add_corpus(
        path="data/corpus.txt", sha256=sha, chars=10, size_bytes=20, source="default"
    )
    return corpus.id


# ------------------------------------------------------------------------ migrations

# The newest file in migrations/versions; a new revision updates this line.
LATEST_REVISION = "0011"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrations_reach_head_on_an_empty_database_and_rerunning_is_a_no_op(
    backend: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, tmp_path) as url:
        await migrate_to_head(url)
        assert await run_on(url, current_revision) == head_revision() == LATEST_REVISION
        tables = await run_on(url, lambda c: set(inspect(c).get_table_names()))
        assert set(metadata.tables) | {"alembic_version"} == tables

        storage = await Storage.open(url, migrate=False)
        await add_user(storage, 7)
        await storage.close()

        await migrate_to_head(url)
        assert await run_on(url, current_revision) == LATEST_REVISION
        again = await Storage.open(url)
        assert await again.count_users() == 1
        await again.close()


async def test_migrations_find_their_scripts_from_any_working_directory(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    await migrate_to_head(sqlite_url)
    assert await run_on(sqlite_url, current_revision) == LATEST_REVISION


async def test_migrated_schema_has_no_drift_from_the_orm_models(
    database_url: str, tmp_path: Path
) -> None:
    await migrate_to_head(database_url)

    def autogenerate_diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    assert await run_on(database_url, autogenerate_diff) == []

    # Stricter than autogenerate: names, CHECKs and partial-index predicates too.
    backend = make_url(database_url).get_backend_name()
    async with fresh_database(backend, tmp_path) as orm_url:
        await run_on(orm_url, metadata.create_all)
        from_orm = await run_on(orm_url, schema_snapshot)
    assert await run_on(database_url, schema_snapshot) == from_orm


async def test_downgrade_to_base_and_upgrade_again_restores_the_schema(database_url: str) -> None:
    config = alembic_config(database_url)
    await migrate_to_head(database_url)
    before = await run_on(database_url, schema_snapshot)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await run_on(database_url, lambda c: inspect(c).get_table_names()) == ["alembic_version"]
    await migrate_to_head(database_url)
    assert await run_on(database_url, schema_snapshot) == before


async def test_upgrading_from_0001_keeps_generations_linked_to_their_model_version(
    database_url: str,
) -> None:
    # On SQLite, 0002 rebuilds model_versions; with foreign keys enforced during the
    # rebuild, ON DELETE SET NULL would silently unlink every generation.
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0001")
    now = datetime.now(UTC)

    def seed_0001_data(conn: Connection) -> list[int]:
        conn.execute(insert(UserRow).values(id=1, first_name="Ada", created_at=now, updated_at=now))
        # Ids left to the database: explicit ones would not advance PostgreSQL's sequence.
        version_ids = [
            conn.execute(
                insert(ModelVersionRow).values(
                    checkpoint_path="m.pt", checkpoint_sha256="c" * 64, corpus_sha256="a" * 64,
                    corpus_chars=1, vocab_size=2, steps=3, is_active=active, created_at=now,
                ).returning(ModelVersionRow.id)
            ).scalar_one()
            for active in (True, False)
        ]  # fmt: skip
        conn.execute(
            insert(GenerationRow).values(
                user_id=1, chat_id=1, seed="s", temperature=1.0, length=5, output="out",
                model_version_id=version_ids[0], latency_ms=3.0, created_at=now,
            )
        )  # fmt: skip
        return version_ids

    active_id, inactive_id = await run_on(database_url, seed_0001_data)
    await migrate_to_head(database_url)

    storage = await Storage.open(database_url, migrate=False)
    try:
        [generation] = await storage.user_history(1)
        assert generation.model_version_id == active_id
        active = await storage.active_model_version()
        assert active is not None and active.id == active_id and active.corpus_id is None
        # The one-active index must still be partial: a third, inactive version fits.
        await add_version(storage)
        await storage.activate_model_version(inactive_id)
        assert [v.id for v in await storage.list_model_versions() if v.is_active] == [inactive_id]
    finally:
        await storage.close()


# ---------------------------------------------------------------------------- engine


@pytest.mark.parametrize(("given", "busy_ms"), [({}, 15000), ({"busy_timeout_s": 2.5}, 2500)])
async def test_sqlite_sessions_have_wal_foreign_keys_and_busy_timeout(
    sqlite_url: str, given: dict[str, float], busy_ms: int
) -> None:
    storage = await Storage.open(sqlite_url, **given)
    try:
        async with storage.session_maker() as session:
            pragma = {
                name: (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await storage.close()
    # synchronous: 1 is NORMAL.
    expected = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": busy_ms, "synchronous": 1}
    assert pragma == expected


async def test_sqlite_engine_creates_the_missing_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "bot.db"
    engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert path.exists()


# ----------------------------------------------------------------------------- users


async def test_temperature_persists_across_closing_and_reopening_storage(database_url: str) -> None:
    first = await Storage.open(database_url)
    await add_user(first, 42)
    await first.set_temperature(42, 0.65)
    await first.close()

    second = await Storage.open(database_url)
    try:
        assert await second.get_temperature(42) == pytest.approx(0.65)
        await second.set_temperature(42, None)
        assert await second.get_temperature(42) is None
    finally:
        await second.close()


async def test_set_temperature_creates_a_missing_user_and_upsert_keeps_the_preference(
    storage: Storage,
) -> None:
    assert await storage.get_temperature(5) is None
    await storage.set_temperature(5, 1.2)
    assert await storage.count_users() == 1

    user = await storage.upsert_user(5, "Grace", "Hopper", "grace", "en")
    assert (user.first_name, user.last_name, user.username) == ("Grace", "Hopper", "grace")
    assert user.temperature == pytest.approx(1.2)
    renamed = await storage.upsert_user(5, "G", None, None, None)
    assert renamed.first_name == "G" and renamed.username is None
    assert renamed.created_at == user.created_at
    assert renamed.updated_at >= user.updated_at
    assert await storage.count_users() == 1


async def test_set_temperature_rejects_non_finite_values(storage: Storage) -> None:
    with pytest.raises(ValueError, match="finite"):
        await storage.set_temperature(1, float("nan"))


async def test_forget_deletes_history_and_preferences_of_that_user_only(storage: Storage) -> None:
    for user_id in (1, 2):
        await add_user(storage, user_id)
        await storage.set_temperature(user_id, 0.5 + user_id)
    for _ in range(3):
        await add_generation(storage, 1)
    await add_generation(storage, 2)

    assert await storage.forget_user(1) == 3

    assert await storage.get_user(1) is None
    assert await storage.get_temperature(1) is None
    assert await storage.user_history(1) == []
    assert await storage.get_temperature(2) == pytest.approx(2.5)
    assert await storage.count_generations(user_id=2) == 1
    assert await storage.count_users() == 1
    assert await storage.forget_user(1) == 0


async def test_deleting_a_user_row_cascades_to_their_generations(storage: Storage) -> None:
    # The foreign key itself, not only forget_user, must not leave orphans behind.
    await add_user(storage, 1)
    await add_generation(storage, 1)
    async with storage.session_maker() as session, session.begin():
        await session.execute(delete(UserRow).where(UserRow.id == 1))
    assert await storage.count_generations() == 0


# ----------------------------------------------------------------------- generations


async def test_history_is_newest_first_and_limited(storage: Storage) -> None:
    await add_user(storage, 1)
    ids = [await add_generation(storage, 1, seed=f"s{i}") for i in range(12)]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    for minutes, generation_id in enumerate(ids):
        await backdate(storage, generation_id, base + timedelta(minutes=minutes))

    history = await storage.user_history(1, limit=10)

    assert [g.id for g in history] == list(reversed(ids))[:10]
    assert history[0].seed == "s11"
    assert history[0].created_at == base + timedelta(minutes=11)
    assert history[0].created_at.tzinfo is not None


async def test_generation_round_trips_every_field(storage: Storage) -> None:
    await add_user(storage, 1)
    version = await add_version(storage)
    generation_id = await storage.add_generation(
        user_id=1,
        chat_id=-100123,
        seed="مرحبا ☃",
        temperature=0.9,
        length=200,
        output="مرحبا بك",
        model_version_id=version.id,
        latency_ms=12.5,
        dropped_chars="☃",
    )
    [stored] = await storage.user_history(1)
    assert (stored.id, stored.chat_id, stored.seed, stored.dropped_chars) == (
        generation_id, -100123, "مرحبا ☃", "☃",
    )  # fmt: skip
    assert (stored.model_version_id, stored.length, stored.latency_ms) == (version.id, 200, 12.5)
    assert stored.created_at.utcoffset() == timedelta(0)


async def test_add_generation_for_an_unknown_user_raises_user_not_found(storage: Storage) -> None:
    with pytest.raises(UserNotFoundError):
        await add_generation(storage, 999)
    await add_user(storage, 1)
    with pytest.raises(ModelVersionNotFoundError):
        await add_generation(storage, 1, version_id=12345)


async def test_list_and_count_generations_filter_by_user_version_and_time(
    storage: Storage,
) -> None:
    for user_id in (1, 2):
        await add_user(storage, user_id)
    v1 = await add_version(storage)
    v2 = await add_version(storage)
    now = datetime.now(UTC)
    old = await add_generation(storage, 1, version_id=v1.id)
    await backdate(storage, old, now - timedelta(days=3))
    await add_generation(storage, 1, version_id=v2.id)
    await add_generation(storage, 2, version_id=v2.id)
    await add_generation(storage, 2, version_id=None)

    assert await storage.count_generations() == 4
    assert await storage.count_generations(user_id=1) == 2
    assert await storage.count_generations(model_version_id=v2.id) == 2
    assert await storage.count_generations(user_id=2, model_version_id=v2.id) == 1
    assert await storage.count_generations(since=now - timedelta(days=1)) == 3

    page = await storage.list_generations(offset=0, limit=2)
    rest = await storage.list_generations(offset=2, limit=2)
    every = await storage.list_generations(offset=0, limit=100)
    assert [g.id for g in page + rest] == [g.id for g in every]
    assert every[-1].id == old
    assert [g.user_id for g in await storage.list_generations(0, 10, user_id=2)] == [2, 2]
    by_version = await storage.list_generations(0, 10, model_version_id=v1.id)
    assert [g.id for g in by_version] == [old]


async def test_naive_datetimes_are_rejected_as_filters(storage: Storage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.count_generations(since=datetime(2024, 1, 1))


async def test_iter_generations_yields_every_matching_row_oldest_first_in_chunks(
    storage: Storage,
) -> None:
    for user_id in (1, 2):
        await add_user(storage, user_id)
    mine = [await add_generation(storage, 1) for _ in range(7)]
    await add_generation(storage, 2)

    exported = [g.id async for g in storage.iter_generations(user_id=1, chunk_size=3)]
    assert exported == mine
    assert len([g async for g in storage.iter_generations(chunk_size=4)]) == 8


async def test_latency_percentiles_cover_only_the_window(storage: Storage) -> None:
    await add_user(storage, 1)
    now = datetime.now(UTC)
    assert await storage.latency_percentiles(now - timedelta(hours=1)) is None

    for latency in range(1, 101):
        await add_generation(storage, 1, latency_ms=float(latency))
    outlier = await add_generation(storage, 1, latency_ms=100_000.0)
    await backdate(storage, outlier, now - timedelta(days=2))

    result = await storage.latency_percentiles(now - timedelta(hours=1), percentiles=(50, 95, 100))
    assert result == {50: pytest.approx(50.5), 95: pytest.approx(95.05), 100: 100.0}


# -------------------------------------------------------------------- model versions


async def test_activating_a_model_version_deactivates_the_others(storage: Storage) -> None:
    first = await add_version(storage, activate=True)
    second = await add_version(storage)
    third = await add_version(storage, activate=True)
    assert [v.id for v in await storage.list_model_versions() if v.is_active] == [third.id]

    activated = await storage.activate_model_version(second.id)

    assert activated.is_active
    active = await storage.active_model_version()
    assert active is not None and active.id == second.id
    versions = {v.id: v.is_active for v in await storage.list_model_versions()}
    assert versions == {first.id: False, second.id: True, third.id: False}
    # Re-activating the active version is harmless.
    await storage.activate_model_version(second.id)
    assert [v.id for v in await storage.list_model_versions() if v.is_active] == [second.id]


async def test_activating_a_missing_model_version_raises_lookup_error(storage: Storage) -> None:
    kept = await add_version(storage, activate=True)
    with pytest.raises(LookupError):
        await storage.activate_model_version(kept.id + 100)
    with pytest.raises(ModelVersionNotFoundError):
        await storage.activate_model_version(kept.id + 100)
    active = await storage.active_model_version()
    assert active is not None and active.id == kept.id


async def test_database_refuses_a_second_active_model_version(storage: Storage) -> None:
    first = await add_version(storage, activate=True)
    second = await add_version(storage)
    with pytest.raises(IntegrityError):
        async with storage.session_maker() as session, session.begin():
            await session.execute(
                update(ModelVersionRow)
                .where(ModelVersionRow.id == second.id)
                .values(is_active=True)
            )
    active = await storage.active_model_version()
    assert active is not None and active.id == first.id


async def test_model_version_keeps_its_metrics_and_corpus(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    version = await storage.register_model_version(
        checkpoint_path="/m.pt", checkpoint_sha256="1" * 64, corpus_sha256="2" * 64,
        corpus_chars=12345, vocab_size=77, steps=500, train_loss=None, val_loss=1.25,
        note="default model", corpus_id=corpus_id, activate=False,
    )  # fmt: skip
    assert await storage.get_model_version(version.id) == version
    assert (version.corpus_id, version.val_loss, version.train_loss) == (corpus_id, 1.25, None)
    assert await storage.active_model_version() is None
    assert await storage.get_model_version(version.id + 1) is None


async def test_discarding_a_version_keeps_history_and_refuses_the_active_one(
    storage: Storage,
) -> None:
    await add_user(storage, 1)
    active = await add_version(storage, activate=True)
    rejected = await add_version(storage)
    generation_id = await add_generation(storage, 1, version_id=rejected.id)
    run_id = await storage.start_training_run(None, await add_corpus(storage), SETTINGS, "k" * 64)
    await storage.finish_training_run(run_id, "rejected", model_version_id=rejected.id)

    assert await storage.discard_model_version(rejected.id) == rejected

    assert await storage.get_model_version(rejected.id) is None
    [generation] = await storage.user_history(1)
    assert (generation.id, generation.model_version_id) == (generation_id, None)
    run = await storage.get_training_run(run_id)
    assert run is not None and run.model_version_id is None
    with pytest.raises(ModelVersionActiveError):
        await storage.discard_model_version(active.id)
    with pytest.raises(ModelVersionNotFoundError):
        await storage.discard_model_version(rejected.id)


# --------------------------------------------------------------------------- corpora


async def test_corpora_are_found_by_hash_and_latest_first(storage: Storage) -> None:
    assert await storage.latest_corpus() is None
    first = await add_corpus(storage, "a" * 64)
    upload = await storage.add_corpus(
        path="var/corpora/2.txt", sha256="b" * 64, chars=5, size_bytes=9,
        source=CorpusSource.UPLOAD, uploaded_by=77,
    )  # fmt: skip
    again = await add_corpus(storage, "a" * 64)

    found = await storage.find_corpus_by_sha("a" * 64)
    assert found is not None and found.id == again
    latest = await storage.latest_corpus()
    assert latest is not None and latest.id == upload.id
    assert await storage.get_corpus(upload.id) == upload
    assert upload.source is CorpusSource.UPLOAD and upload.uploaded_by == 77
    assert await storage.find_corpus_by_sha("c" * 64) is None
    # the same text is one corpus (corpora.sha256 is unique; add is an upsert).
    assert first == again


async def test_unknown_corpus_source_is_rejected(storage: Storage) -> None:
    with pytest.raises(ValueError):
        await storage.add_corpus(path="x", sha256="a" * 64, chars=1, size_bytes=1, source="web")


# --------------------------------------------------------------------- training runs


async def test_only_one_training_runs_at_a_time(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    key = make_settings_key("a" * 64, SETTINGS)
    run_id = await storage.start_training_run(1, corpus_id, SETTINGS, key)

    with pytest.raises(TrainingAlreadyRunningError) as caught:
        await storage.start_training_run(2, corpus_id, SETTINGS, key)
    assert caught.value.run_id == run_id

    await storage.finish_training_run(run_id, TrainingStatus.CANCELLED)
    next_id = await storage.start_training_run(2, corpus_id, SETTINGS, key)
    running = await storage.running_training_run()
    assert running is not None and running.id == next_id and running.started_by == 2


async def test_concurrent_starts_let_exactly_one_training_run(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    results = await asyncio.gather(
        *(storage.start_training_run(n, corpus_id, SETTINGS, "k" * 64) for n in range(4)),
        return_exceptions=True,
    )
    started = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, TrainingAlreadyRunningError)]
    assert len(started) == 1 and len(refused) == 3, results


async def test_database_refuses_a_second_running_run(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    await storage.start_training_run(None, corpus_id, SETTINGS, "k" * 64)
    with pytest.raises(IntegrityError):
        async with storage.session_maker() as session, session.begin():
            session.add(
                TrainingRunRow(
                    corpus_id=corpus_id, settings={}, settings_key="k" * 64, status="running"
                )
            )


async def test_runs_nobody_drives_are_marked_failed(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    finished = await storage.start_training_run(None, corpus_id, SETTINGS, "k" * 64)
    await storage.finish_training_run(finished, "succeeded")
    orphan = await storage.start_training_run(None, corpus_id, SETTINGS, "k" * 64)

    assert len(await storage.fail_abandoned_runs("the bot restarted during training")) == 1

    run = await storage.get_training_run(orphan)
    assert run is not None
    assert run.status is TrainingStatus.FAILED
    assert run.error == "the bot restarted during training"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert await storage.running_training_run() is None
    succeeded = await storage.get_training_run(finished)
    assert succeeded is not None and succeeded.status is TrainingStatus.SUCCEEDED
    assert len(await storage.fail_abandoned_runs("again")) == 0
    # The process that owned the orphan cannot overwrite the verdict later.
    with pytest.raises(TrainingRunStateError):
        await storage.finish_training_run(orphan, TrainingStatus.SUCCEEDED)


async def test_finishing_a_run_records_its_outcome(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    key = make_settings_key("a" * 64, SETTINGS)
    run_id = await storage.start_training_run(9, corpus_id, SETTINGS, key)
    version = await add_version(storage, activate=True)

    run = await storage.finish_training_run(
        run_id, TrainingStatus.SUCCEEDED, model_version_id=version.id,
        final_train_loss=1.1, final_val_loss=1.3,
    )  # fmt: skip

    assert await storage.get_training_run(run_id) == run
    assert (run.status, run.model_version_id, run.final_val_loss) == ("succeeded", version.id, 1.3)
    assert run.settings == SETTINGS and run.settings_key == key and run.finished
    with pytest.raises(ValueError):
        await storage.finish_training_run(run_id, TrainingStatus.RUNNING)
    with pytest.raises(LookupError):
        await storage.finish_training_run(run_id + 100, TrainingStatus.FAILED)


async def test_find_successful_run_ignores_runs_that_did_not_succeed(storage: Storage) -> None:
    corpus_id = await add_corpus(storage)
    key = make_settings_key("a" * 64, SETTINGS)
    for status in (TrainingStatus.FAILED, TrainingStatus.REJECTED, TrainingStatus.CANCELLED):
        run_id = await storage.start_training_run(None, corpus_id, SETTINGS, key)
        await storage.finish_training_run(run_id, status, error="x")
    await storage.start_training_run(None, corpus_id, SETTINGS, key)  # still running
    assert await storage.find_successful_run(key) is None

    await storage.fail_abandoned_runs("restart")
    good = await storage.start_training_run(None, corpus_id, SETTINGS, key)
    await storage.finish_training_run(good, TrainingStatus.SUCCEEDED)
    found = await storage.find_successful_run(key)
    assert found is not None and found.id == good
    assert await storage.find_successful_run(make_settings_key("b" * 64, SETTINGS)) is None

    # A succeeded run later judged worse is reclassified and no longer counts.
    rejected = await storage.set_run_status(good, TrainingStatus.REJECTED, error="worse")
    assert rejected.status is TrainingStatus.REJECTED and rejected.error == "worse"
    assert await storage.find_successful_run(key) is None
    assert [r.id for r in await storage.list_training_runs(limit=2)] == [good, good - 1]


def test_settings_key_ignores_key_order_but_not_values_or_corpus() -> None:
    reordered = dict(reversed(list(SETTINGS.items())))
    key = make_settings_key("a" * 64, SETTINGS)
    assert make_settings_key("a" * 64, reordered) == key
    assert make_settings_key("b" * 64, SETTINGS) != key
    assert make_settings_key("a" * 64, {**SETTINGS, "steps": 201}) != key
    assert len(key) == 64


async def test_starting_a_run_on_a_missing_corpus_raises_lookup_error(storage: Storage) -> None:
    with pytest.raises(LookupError):
        await storage.start_training_run(None, 12345, SETTINGS, "k" * 64)
    assert await storage.running_training_run() is None


# ------------------------------------------------------------------------ end to end


async def test_a_bot_lifetime_round_trips_through_storage(database_url: str) -> None:
    """The calls one run of the bot makes, in order, across a restart."""
    storage = await Storage.open(database_url)
    assert len(await storage.fail_abandoned_runs("restart")) == 0
    corpus = await storage.add_corpus(
        path="data/arabic_text.txt", sha256="a" * 64, chars=100, size_bytes=200,
        source="default", uploaded_by=None,
    )  # fmt: skip
    default = await storage.register_model_version(
        checkpoint_path="var/default.pt", checkpoint_sha256="c" * 64, corpus_sha256="a" * 64,
        corpus_chars=100, vocab_size=30, steps=10, corpus_id=corpus.id, activate=True,
    )  # fmt: skip
    await storage.upsert_user(10, "Ada", None, "ada", "ar")
    await storage.set_temperature(10, 0.7)
    await add_generation(storage, 10, version_id=default.id, latency_ms=20.0)
    key = make_settings_key(corpus.sha256, SETTINGS)
    run_id = await storage.start_training_run(10, corpus.id, SETTINGS, key)
    await storage.close()  # the process dies mid-training

    storage = await Storage.open(database_url)
    try:
        assert len(await storage.fail_abandoned_runs("restart")) == 1
        run = await storage.get_training_run(run_id)
        assert run is not None and run.status is TrainingStatus.FAILED
        retry = await storage.start_training_run(10, corpus.id, SETTINGS, key)
        better = await add_version(storage)
        await storage.finish_training_run(retry, "succeeded", model_version_id=better.id)
        await storage.activate_model_version(better.id)
        active = await storage.active_model_version()
        assert active is not None and active.id == better.id
        assert await storage.find_successful_run(key) is not None
        assert await storage.get_temperature(10) == pytest.approx(0.7)
        assert await storage.count_generations(model_version_id=default.id) == 1
        since = datetime.now(UTC) - timedelta(hours=1)
        assert await storage.latency_percentiles(since) == {50: 20.0, 95: 20.0}
        async with storage.session_maker() as session:
            assert (await session.scalars(select(UserRow.id))).all() == [10]
    finally:
        await storage.close()


# --- fair use: access decisions and user listings, on both databases


async def test_access_decisions_round_trip_and_listings_count_generations(
    storage: Storage,
) -> None:
    await storage.upsert_user(1, "Ann", username="ann")
    await storage.upsert_user(2, "Bob")
    for _ in range(3):
        await storage.add_generation(
            user_id=1, chat_id=1, seed="s", temperature=1.0, length=1, output="so",
            model_version_id=None, latency_ms=1.0,
        )  # fmt: skip
    rule, before = await storage.set_access(3, changed_by=9, blocked=True, reason="spam")
    assert before is None and rule.blocked and rule.reason == "spam" and rule.blocked_at
    await storage.set_access(2, changed_by=9, allowed=True)
    rules = {r.user_id: r for r in await storage.access_rules()}
    assert rules[2].allowed and not rules[2].blocked and rules[3].blocked
    assert await storage.count_user_summaries() == 2
    assert await storage.count_user_summaries(blocked_only=True) == 1
    everyone = {u.user_id: u for u in await storage.user_summaries(0, 10)}
    assert everyone[1].generations == 3 and everyone[1].username == "ann"
    assert everyone[2].generations == 0 and not everyone[2].blocked
    [blocked] = await storage.user_summaries(0, 10, blocked_only=True)
    assert blocked.user_id == 3 and blocked.first_name is None and blocked.reason == "spam"
    assert await storage.top_users_since(datetime.now(UTC) - timedelta(hours=1)) == [(1, 3)]
    after, before = await storage.set_access(3, changed_by=9, blocked=False)
    assert before is not None and before.blocked and not after.blocked and after.reason is None
    assert 3 not in {r.user_id for r in await storage.access_rules()}
