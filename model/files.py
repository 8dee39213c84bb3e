"""Writing files so that a crash or a full disk never leaves half of one behind.

A write goes to ``.<name>.<random>.tmp`` beside the target, is fsynced, then renamed
over it. A process killed with SIGKILL in between cannot remove its temporary file, so
:func:`sweep_temporary_files` removes stale ones: the bot calls it at start-up and
before each training, when no writer of that directory can still be alive.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_temporary_file(path: Path) -> bool:
    """A name :func:`write_atomically` gives its temporary files."""
    return path.name.startswith(".") and path.name.endswith(TEMP_SUFFIX)


def sweep_temporary_files(directory: str | Path, older_than_s: float = 0.0) -> list[Path]:
    """Delete this module's temporary files in ``directory`` older than ``older_than_s``.

    Returns what was deleted. A missing or unreadable directory, or a file that cannot
    be deleted (read-only filesystem), is skipped: sweeping is housekeeping and must
    never stop the caller.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not is_temporary_file(entry):
            continue
        try:
            if not entry.is_file() or now - entry.stat().st_mtime < older_than_s:
                continue
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed
