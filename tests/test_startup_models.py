"""A corrupt active checkpoint at start: the newest version that loads serves instead.

Through the Bot API: the bot is restarted on a data directory whose active version's
file is damaged, and a user's /write must still be answered, the admins told once, and
no version row added.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete

from bot.ops.startup import StartupError
from bot.storage.schema import BlobRow
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, register_copy, running_bot


async def add_version(h: Harness, source: Path, name: str, *, activate: bool) -> int:
    """Register a copy of ``source`` whose bytes (so SHA-256) differ, as a new version."""
    path = h.workdir / "checkpoints" / f"{name}.pt"
    return await register_copy(h.services.storage, source, path, note=name, activate=activate)


async def write_served_by(h: Harness, user_id: int) -> int | None:
    user = h.api.user(user_id)
    [reply] = await h.ask(user, "/write البحر")
    assert (reply.raw_text or "").startswith("البحر")
    [generation] = await h.services.storage.user_history(user_id, limit=1)
    return generation.model_version_id


async def forget_database_copies(h: Harness) -> None:
    """The database keeps a copy of every checkpoint and repairs a damaged
    file from it; these tests are about files with no good copy anywhere (a database
    from before that), so the copies go."""
    async with h.services.storage.session_maker() as session, session.begin():
        await session.execute(delete(BlobRow))


def startup_notices(h: Harness) -> list[str]:
    return [
        m.text or "" for m in h.api.messages_to(ADMIN_ID) if "Start-up notice" in (m.text or "")
    ]


async def test_a_corrupt_active_version_falls_back_to_the_newest_that_loads(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        h.api.user(ADMIN_ID, "Admin")
        await add_version(h, tiny_checkpoint_path, "v2", activate=False)
        v3 = await add_version(h, tiny_checkpoint_path, "v3", activate=True)
        await h.restart()
        assert await write_served_by(h, 6001) == v3
        assert startup_notices(h) == []

        # v3's file is truncated: v2, the newest version that loads, serves instead.
        (tmp_path / "checkpoints" / "v3.pt").write_bytes(b"\x80\x02 truncated")
        await forget_database_copies(h)
        await h.restart()
        assert await write_served_by(h, 6002) == 2
        [notice] = startup_notices(h)
        assert "Model version 3 could not be loaded" in notice and "Version 2 is serving" in notice
        versions = await h.services.storage.list_model_versions()
        assert [v.id for v in versions] == [3, 2, 1]  # no new row
        assert [v.id for v in versions if v.is_active] == [2]

        # v2's file is replaced by a valid checkpoint that is not the one registered:
        # its SHA-256 differs, so it is refused too, and version 1 (the default) serves.
        shutil.copy(tmp_path / "checkpoints" / "default.pt", tmp_path / "checkpoints" / "v2.pt")
        await forget_database_copies(h)
        await h.restart()
        assert await write_served_by(h, 6003) == 1
        notices = startup_notices(h)
        assert len(notices) == 2 and "SHA-256 differs" in notices[1]
        assert [v.id for v in await h.services.storage.list_model_versions()] == [3, 2, 1]


async def test_when_nothing_loads_start_up_names_the_file_to_delete_or_restore(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        default = tmp_path / "checkpoints" / "default.pt"
        default.write_bytes(b"not a checkpoint")
        await forget_database_copies(h)
        with pytest.raises(StartupError) as info:
            await h.restart()
    line = str(info.value)
    assert "\n" not in line and info.value.exit_code == 2
    assert f"the default checkpoint {default} is unusable" in line
    assert "delete it to have the default model trained again" in line


async def test_a_deleted_default_is_trained_again_and_registered_once(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, default_train_steps=5) as h:
        h.api.user(ADMIN_ID, "Admin")
        (tmp_path / "checkpoints" / "default.pt").unlink()  # as the error line advises
        await forget_database_copies(h)
        await h.restart()
        assert await write_served_by(h, 6004) == 2
        await h.restart()  # and a plain restart registers nothing more
        assert await write_served_by(h, 6005) == 2
        assert [v.id for v in await h.services.storage.list_model_versions()] == [2, 1]
        assert len(startup_notices(h)) == 1


async def test_an_admin_who_cannot_be_messaged_does_not_stop_start_up(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT) as h:
        # The admin never opened a chat with the bot: sendMessage answers "chat not found".
        await add_version(h, tiny_checkpoint_path, "v2", activate=True)
        (tmp_path / "checkpoints" / "v2.pt").write_bytes(b"")
        await h.restart()
        assert await write_served_by(h, 6006) == 1
        failed = [c for c in h.api.calls_to("sendMessage") if c.params.get("chat_id") == ADMIN_ID]
        assert failed and all(c.status == 400 for c in failed)
