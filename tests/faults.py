"""Fault injection for retraining tests: database locks, small or read-only filesystems,
and the checks every fault test ends with.

- :class:`WriteLock`: a second SQLite connection holding the write lock (``BEGIN
  IMMEDIATE``) for N seconds, longer than the bot's busy timeout, so the bot's writes
  fail with "database is locked" meanwhile. Start it from a finishing phase hook
  (``manager.phase_hook``) or when a row appears (:func:`lock_when`).
- :func:`tmpfs`: a small tmpfs mounted at a path (root only; skips the test otherwise),
  with :func:`remount` to make it read-only mid-test and :func:`fill` for a full disk.
- :func:`assert_consistent`: ``PRAGMA integrity_check`` is ok, every model version's
  checkpoint exists, no run is live without this bot driving it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SQL_WORDS = ("SELECT", "UPDATE", "INSERT", "sqlite3", "[SQL", "OperationalError", "Traceback")


class WriteLock:
    """Hold SQLite's write lock from another connection for ``seconds``."""

    def __init__(self, db: Path, seconds: float) -> None:
        self.db, self.seconds = db, seconds
        self.acquired = threading.Event()
        self.released = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            self.acquired.set()
            time.sleep(self.seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()
            self.released.set()

    async def start(self) -> WriteLock:
        self._thread.start()
        await asyncio.to_thread(self.acquired.wait, 60)
        assert self.acquired.is_set(), "could not take the write lock"
        return self

    async def wait_released(self) -> None:
        await asyncio.to_thread(self.released.wait, 120)


def lock_when(db: Path, query: str, seconds: float) -> WriteLock:
    """Take the write lock as soon as ``query`` returns a row (polled from a thread)."""
    lock = WriteLock(db, seconds)

    def watch() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
                if conn.execute(query).fetchone() is not None:
                    break
            time.sleep(0.005)
        lock._hold()

    lock._thread = threading.Thread(target=watch, daemon=True)
    lock._thread.start()
    return lock


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (tmpfs mounts)")


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64m") -> Iterator[Path]:
    """A fresh tmpfs at ``path`` for the duration; skips the test where mounting fails."""
    require_root()
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(path)], capture_output=True)
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, mode: str) -> None:
    """``mode``: "ro" or "rw"."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; delete it to free the space."""
    filler = directory / "filler.bin"
    chunk = b"\0" * (1 << 20)
    with contextlib.suppress(OSError), filler.open("wb") as fh:
        while True:
            fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
    # Also the last partial blocks.
    with contextlib.suppress(OSError), filler.open("ab") as fh:
        while True:
            fh.write(b"\0" * 512)
            fh.flush()
    return filler


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def db_rows(db: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return list(conn.execute(query, params).fetchall())


def assert_consistent(db: Path, driven_run: int | None = None) -> None:
    """The database is sound and refers to no missing file; no live run lacks a driver."""
    assert integrity(db) == "ok"
    for version_id, path in db_rows(db, "SELECT id, checkpoint_path FROM model_versions"):
        assert Path(path).exists(), f"version {version_id}'s checkpoint {path} is missing"
    live = db_rows(db, "SELECT id, status FROM training_runs WHERE live IS NOT NULL")
    assert all(run_id == driven_run for run_id, _ in live), live


def outcome_messages(texts: list[str], run_id: int) -> list[str]:
    """The messages that tell run ``run_id``'s outcome (not progress, not replies)."""
    prefixes = (
        f"Training run #{run_id} finished",
        f"Training run #{run_id} failed:",
        f"Training run #{run_id} was cancelled",
    )
    return [t for t in texts if t.startswith(prefixes)]


def assert_no_sql(texts: list[str]) -> None:
    for text in texts:
        for word in SQL_WORDS:
            assert word not in text, text


def skip_unless_readable_by(uid: int, path: Path) -> None:
    """Skip, with the reason, when ``uid`` cannot read ``path``: a checkout under a private
    directory (``mktemp -d`` is 0700) cannot be run as another user."""
    probe = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "test", "-r", str(path)],
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"uid {uid} cannot read {path} (a private parent directory)")
