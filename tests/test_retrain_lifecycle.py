"""The trainer's life tied to the bot's, and files left by kills: the trainer stops when
the bot dies (even by SIGKILL), a real ``python -m bot`` killed at chosen phases is
restarted and settles the run exactly once, stale temporary files are swept."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.storage import Storage, TrainingStatus
from bot.training.cleanup import collect_checkpoints
from model.files import sweep_temporary_files, write_atomically
from tests.botapi import FakeBotApi
from tests.conftest import TINY_TEXT
from tests.faults import assert_consistent, db_rows, lock_when, outcome_messages
from tests.harness import (
    ADMIN_ID,
    FAST_TRAINING,
    TEST_TOKEN,
    prepare_workdir,
    process_env,
    running_bot,
    training_processes,
)
from tests.processes import start_module, stop
from tests.test_admin_e2e import NEW_TEXT, eventually, upload

EXIT_ORPHANED = 4


def test_sweep_removes_only_temporary_files_older_than_asked(tmp_path: Path) -> None:
    write_atomically(tmp_path / "keep.pt", b"x")
    stale = tmp_path / ".run-3.pt.abc123.tmp"
    stale.write_bytes(b"half")
    other = tmp_path / "notes.tmp"  # not ours: no leading dot
    other.write_bytes(b"x")
    assert sweep_temporary_files(tmp_path, older_than_s=3600) == []
    assert sweep_temporary_files(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.pt", "notes.tmp"]
    assert sweep_temporary_files(tmp_path / "missing") == []


async def test_a_killed_contests_candidates_are_debris_like_its_checkpoint(tmp_path: Path) -> None:
    """A bot killed while a /retrain contest trains leaves run-<id>-finetune.pt and
    run-<id>-fresh.pt beside run-<id>.pt; nothing refers to any of them."""
    (tmp_path / "ckpt").mkdir()
    names = ["run-7.pt", "run-7-finetune.pt", "run-7-fresh.pt", "default.pt", "run-7-notes.txt"]
    for name in names:
        (tmp_path / "ckpt" / name).write_bytes(b"x")
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        removed = await collect_checkpoints(storage, tmp_path / "ckpt")
    finally:
        await storage.close()
    assert sorted(p.name for p in removed) == ["run-7-finetune.pt", "run-7-fresh.pt", "run-7.pt"]
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "default.pt",
        "run-7-notes.txt",
    ]


async def test_a_live_contests_candidates_are_kept(tmp_path: Path) -> None:
    """While a run is live, its contest's candidates are its future checkpoint."""
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        corpus = await storage.add_corpus(
            path="c.txt", sha256="a" * 64, chars=100, size_bytes=200,
            source="default", uploaded_by=None,
        )  # fmt: skip
        run = await storage.queue_training_run(
            None, corpus.id, {}, "k" * 64, checkpoint_dir=str(ckpt),
            status=TrainingStatus.RUNNING,
        )  # fmt: skip
        assert run.checkpoint_path is not None
        live = Path(run.checkpoint_path)
        for name in (live.name, f"{live.stem}-finetune.pt", f"{live.stem}-fresh.pt"):
            (ckpt / name).write_bytes(b"x")
        removed = await collect_checkpoints(storage, ckpt)
    finally:
        await storage.close()
    assert removed == []


async def test_the_trainer_exits_when_its_stdin_closes(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(TINY_TEXT, encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "model", "train", "--corpus", str(corpus),
        "--out", str(tmp_path / "m.pt"), "--steps", "1000000", "--log-every", "1000000",
        "--eval-every", "1000000", "--device", "cpu", "--progress", "jsonl",
        "--exit-with-parent", "--seq-len", "16", "--hidden-size", "16", "--embed-size", "8",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    await asyncio.wait_for(proc.stdout.readline(), 60)  # the "start" event: it is training
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 30) == EXIT_ORPHANED
    assert not (tmp_path / "m.pt").exists()


async def test_stale_temporary_files_are_swept_at_start_and_before_training(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    (tmp_path / "corpora").mkdir(parents=True)
    (tmp_path / "checkpoints").mkdir(parents=True)
    left = [tmp_path / "checkpoints" / ".run-7.pt.x1.tmp", tmp_path / "corpora" / ".a.txt.x2.tmp"]
    for path in left:
        path.write_bytes(b"\0" * 1000)
    overrides = {**FAST_TRAINING, "retrain_steps": 1_000_000}
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, **overrides) as h:
        assert not any(p.exists() for p in left)
        later = tmp_path / "checkpoints" / ".run-8.pt.x3.tmp"
        later.write_bytes(b"\0")
        await upload(h, h.api.user(ADMIN_ID), NEW_TEXT.encode())
        await eventually(lambda: h.services.retrain.running)
        await eventually(lambda: not later.exists(), 30)
        await h.ask(h.api.user(ADMIN_ID), "/retrain cancel")


# ------------------------------------------------------------- a real bot process


def bot_env(api: FakeBotApi, work: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **process_env(api, work),
        "ADMIN_IDS": str(ADMIN_ID),
        "LOG_LEVEL": "INFO",
        "RETRAIN_SEQ_LEN": "32",
        "RETRAIN_BATCH_SIZE": "16",
        "RETRAIN_HIDDEN_SIZE": "48",
        "RETRAIN_EMBED_SIZE": "16",
        "PROGRESS_EDIT_INTERVAL_S": "0",
        "RETRAIN_RECIPE": "reference",  # these outcomes were set with it
        **extra,
    }


@asynccontextmanager
async def bot_process(api: FakeBotApi, work: Path, **extra: str) -> AsyncIterator[int]:
    ready = len(api.calls_to("setMyCommands"))
    proc = await start_module(
        "bot", cwd=work, env=bot_env(api, work, **extra),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await api.wait_for(
            lambda: len(api.calls_to("setMyCommands")) > ready or None, 120, "bot ready"
        )
        yield proc.pid
    finally:
        await stop(proc, grace=60)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def admin_texts(api: FakeBotApi) -> list[str]:
    return [m.text or "" for m in api.messages_to(ADMIN_ID)]


@pytest.mark.slow
async def test_kill_9_of_the_bot_during_training_stops_the_trainer_and_fails_the_run_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    async with FakeBotApi(TEST_TOKEN) as api:
        admin = api.user(ADMIN_ID)
        async with bot_process(api, tmp_path, RETRAIN_STEPS="1000000") as pid:
            await api.send_document(admin, "c.txt", NEW_TEXT.encode(), caption="/retrain")
            await api.wait_for(
                lambda: any("step" in e for m in api.messages_to(ADMIN_ID) for e in m.edits)
                or None, 120, "training progress",
            )  # fmt: skip
            [trainer] = training_processes(pid)
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            await eventually(lambda: not alive(trainer), 30)
            print(f"trainer gone {time.monotonic() - killed:.2f} s after kill -9 of the bot")
        assert_consistent(tmp_path / "bot.db", driven_run=1)  # live, but nobody left to drive
        async with bot_process(api, tmp_path, RETRAIN_STEPS="1000000"):
            await api.wait_for(lambda: outcome_messages(admin_texts(api), 1) or None, 60)
            [outcome] = outcome_messages(admin_texts(api), 1)
            assert "failed: the bot stopped during training" in outcome, outcome
            assert_consistent(tmp_path / "bot.db")
            since = api.mark(5001)
            await api.send_text(api.user(5001), "/write في الصباح")
            await api.wait_for_messages(5001, 1, 60, since=since)
        assert len(outcome_messages(admin_texts(api), 1)) == 1


@pytest.mark.slow
async def test_kill_9_of_the_bot_while_finishing_resumes_the_run_at_the_next_start(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    prepare_workdir(tmp_path, tiny_checkpoint_path, TINY_TEXT)
    db = tmp_path / "bot.db"
    async with FakeBotApi(TEST_TOKEN) as api:
        admin = api.user(ADMIN_ID)
        async with bot_process(api, tmp_path, RETRAIN_STEPS="150") as pid:
            # Block every write from the moment training has ended, then kill the bot.
            lock = lock_when(db, "SELECT 1 FROM training_runs WHERE status='finishing'", 10.0)
            await api.send_document(admin, "c.txt", NEW_TEXT.encode(), caption="/retrain")
            await asyncio.to_thread(lock.acquired.wait, 300)
            os.kill(pid, signal.SIGKILL)
        await lock.wait_released()
        assert db_rows(db, "SELECT status FROM training_runs") == [("finishing",)]
        async with bot_process(api, tmp_path, RETRAIN_STEPS="150"):
            await api.wait_for(lambda: outcome_messages(admin_texts(api), 1) or None, 120)
            [outcome] = outcome_messages(admin_texts(api), 1)
            assert "Version 2 is now active" in outcome, outcome
            assert db_rows(db, "SELECT status, model_version_id FROM training_runs") == [
                ("succeeded", 2)
            ]
            assert_consistent(db)
            since = api.mark(5001)
            await api.send_text(api.user(5001), "/write في الصباح")
            await api.wait_for_messages(5001, 1, 60, since=since)
        assert len(outcome_messages(admin_texts(api), 1)) == 1
    storage = await Storage.open(f"sqlite+aiosqlite:///{db}")
    try:
        active = await storage.active_model_version()
        assert active is not None and active.id == 2
    finally:
        await storage.close()
