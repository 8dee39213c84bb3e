"""The real bot, running in-process against the loopback Bot API server, as tests use it."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.runner import RunningBot
from bot.settings.config import Settings, load_settings
from bot.storage import Storage
from bot.storage.database import migrate_to_head_sync
from bot.storage.schema import UpdateRow
from model.checkpoint import load_checkpoint, save_checkpoint
from tests.botapi import FakeBotApi, FakeUser, SentMessage
from tests.conftest import TINY_TEXT

ROOT = Path(__file__).resolve().parents[1]
TEST_TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtoken42"
ADMIN_ID = 4242
# Retraining in about a second: for tests of what a retraining does, not how well.
FAST_TRAINING: dict[str, Any] = {
    "retrain_steps": 150,
    "retrain_seq_len": 32,
    "retrain_batch_size": 16,
    "retrain_hidden_size": 48,
    "retrain_embed_size": 16,
    "progress_edit_interval_s": 0.0,
    # the realism figures from the fewest samples (model/realism.py's floor of rounds)
    "retrain_realism_words": 20,
}


def make_settings(api: FakeBotApi, workdir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,  # a developer's own .env must not leak into tests
        "bot_token": TEST_TOKEN,
        "admin_ids": str(ADMIN_ID),
        "database_url": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "checkpoint_dir": workdir / "checkpoints",
        "corpus_dir": workdir / "corpora",
        "corpus_path": workdir / "corpus.txt",
        "telegram_api_url": api.base_url.removesuffix("/bot"),
        "device": "cpu",
        "rate_limit": False,
        # per-user limits off unless a test turns them on (tests that send
        # several /write as one user would otherwise depend on their timing).
        "user_max_pending": 0,
        "user_rate_per_minute": 0,
        "log_level": "DEBUG",
        # the product trains with the "fit" recipe and auto steps; the
        # end-to-end tests keep the reference recipe and its 2000 steps unless they ask
        # (their outcomes, e.g. "Version 2 is now active", were set with it; tests of
        # the recipes themselves set these).
        "retrain_recipe": "reference",
        "default_train_recipe": "reference",
        "retrain_steps": 2000,
        "default_train_steps": 2000,
        # one candidate per /retrain (the product's auto trains two and judges them,
        # tested by the tests of that contest) and no realism samples unless asked
        "retrain_method": "fresh",
        "retrain_realism_words": 0,
    }
    values.update(overrides)
    return load_settings(**values)


def process_env(
    api: FakeBotApi | str, workdir: Path, *, sealed: bool = False, **settings: str
) -> dict[str, str]:
    """The settings a real ``python -m bot`` process needs to run on ``workdir`` against
    ``api`` (the loopback server, or the URL of another: a closed port, a silent one), as
    environment variables; ``settings`` add to them or replace them.

    ``sealed`` adds the only other variables the process gets (a bare PATH, this tree on
    PYTHONPATH, HOME in ``workdir``), so nothing of the developer's own environment or
    .env reaches it; otherwise the caller adds its own environment, or not.
    """
    url = api if isinstance(api, str) else api.base_url.removesuffix("/bot")
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(workdir)}
    if "OMP_NUM_THREADS" in os.environ:  # one torch thread per process under xdist
        base["OMP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"]
    return {
        **(base if sealed else {}),
        "BOT_TOKEN": TEST_TOKEN,
        "TELEGRAM_API_URL": url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bot.db'}",
        "CHECKPOINT_DIR": str(workdir / "checkpoints"),
        "CORPUS_DIR": str(workdir / "corpora"),
        "CORPUS_PATH": str(workdir / "corpus.txt"),
        "DEVICE": "cpu",
        "RATE_LIMIT": "false",
        **settings,
    }


_template_lock = threading.Lock()
_template: Path | None = None


def migrated_database() -> Path:
    """A SQLite database migrated to the head revision, made once per test process.

    Migrating a fresh file from nothing takes about a quarter of a second of CPU (eleven
    migrations); hundreds of tests start a bot on a fresh data directory, so each gets a
    copy of this one instead. The migrations themselves are tested where they are the
    subject (tests/test_storage.py, the rolling-upgrade and start-up tests), on databases
    of their own.
    """
    global _template
    with _template_lock:
        if _template is None or not _template.exists():
            folder = Path(tempfile.mkdtemp(prefix="charlstm-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "bot.db"
            # migrations/env.py runs its own event loop: not on a thread that has one
            worker = threading.Thread(
                target=migrate_to_head_sync, args=(f"sqlite+aiosqlite:///{path}",)
            )
            worker.start()
            worker.join()
            if not path.exists():
                raise RuntimeError("could not migrate the template database")
            _template = path
        return _template


def prepare_workdir(workdir: Path, checkpoint: Path, corpus_text: str) -> None:
    """A data directory as after a first start: the default checkpoint, its corpus, and
    a database at the head revision (a copy of :func:`migrated_database`)."""
    database = workdir / "bot.db"
    if not database.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_database(), database)
    (workdir / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copy(checkpoint, workdir / "checkpoints" / "default.pt")
    (workdir / "corpus.txt").write_text(corpus_text, encoding="utf-8")


@dataclass
class Harness:
    api: FakeBotApi
    workdir: Path
    settings: Settings
    bot: RunningBot
    overrides: dict[str, Any] = field(default_factory=dict)

    async def ask(
        self, user: FakeUser, text: str, count: int = 1, timeout: float = 30.0
    ) -> list[SentMessage]:
        """Send ``text`` as ``user`` and wait for ``count`` replies in their chat."""
        since = self.api.mark(user.chat_id)
        await self.api.send_text(user, text)
        return await self.api.wait_for_messages(user.chat_id, count, timeout, since=since)

    async def restart(self, **overrides: Any) -> None:
        await self.bot.stop()
        self.overrides.update(overrides)
        self.settings = make_settings(self.api, self.workdir, **self.overrides)
        self.bot = RunningBot(self.settings)
        await self.bot.start()

    @property
    def services(self) -> Any:
        return self.bot.application.bot_data["services"]

    async def settled(self, timeout: float = 30.0) -> None:
        """Wait until every update sent so far was fetched and handled to its end (the
        inbox marks an update done once its outcome is stored and sent), so what the
        bot said is all it will say about them."""
        await self.api.wait_for(lambda: not self.api.pending_updates, timeout, "updates fetched")
        open_rows = select(func.count()).select_from(UpdateRow).where(UpdateRow.done_at.is_(None))

        async def handled() -> bool:
            async with self.services.storage.session_maker() as session:
                return int(await session.scalar(open_rows) or 0) == 0

        deadline = asyncio.get_running_loop().time() + timeout
        while not await handled():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"updates still being handled after {timeout} s")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def running_bot(
    workdir: Path, checkpoint: Path, corpus_text: str, **overrides: Any
) -> AsyncIterator[Harness]:
    prepare_workdir(workdir, checkpoint, corpus_text)
    async with FakeBotApi(TEST_TOKEN) as api:
        settings = make_settings(api, workdir, **overrides)
        bot = RunningBot(settings)
        await bot.start()
        harness = Harness(api, workdir, settings, bot, dict(overrides))
        try:
            yield harness
        finally:
            await harness.bot.stop()


async def register_copy(
    store: Storage,
    source: Path,
    path: Path,
    *,
    note: str,
    activate: bool = False,
    store_blob: bool = False,
) -> int:
    """Register a copy of ``source`` written to ``path`` as a new version: the same
    model, bytes (so a SHA-256) of its own; with ``store_blob`` also stored as a blob."""
    checkpoint = load_checkpoint(source, "cpu")
    checkpoint.metrics["copy"] = str(path)
    sha = save_checkpoint(checkpoint, path)
    if store_blob:
        assert await store.put_blob(path.read_bytes()) == sha
    version = await store.register_model_version(
        checkpoint_path=str(path),
        checkpoint_sha256=sha,
        corpus_sha256="0" * 64,
        corpus_chars=len(TINY_TEXT),
        vocab_size=len(checkpoint.vocab),
        steps=1,
        note=note,
        activate=activate,
    )
    return int(version.id)


def training_processes(pid: int) -> list[int]:
    """The ``python -m model train`` processes descended from process ``pid`` (the bot
    forks them through its fork server, so they are its grandchildren)."""
    parent_of: dict[int, int] = {}
    command_of: dict[int, list[bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command_of[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # it ended meanwhile
        parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def descends(child: int) -> bool:
        while child > 1:
            child = parent_of.get(child, 0)
            if child == pid:
                return True
        return False

    # setproctitle puts the whole command line in argv[0]
    words = {p: b" ".join(argv).split() for p, argv in command_of.items()}
    return sorted(
        p for p, argv in words.items() if b"model" in argv and b"train" in argv and descends(p)
    )
