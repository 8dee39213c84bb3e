"""Retention of model versions: the active one, the newest MODEL_VERSIONS_KEEP and the
pinned ones are kept; the others are pruned with their files, cached copies and blobs,
while their rows stay for the texts that name them. Admins pin and unpin with /pin and
/unpin, and /models says which versions are kept, pinned or pruned.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.storage import ModelVersion
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, register_copy, running_bot
from tests.test_admin_e2e import write_version

KEEP = 2


def files_of(h: Harness, version: ModelVersion) -> list[Path]:
    cache = h.workdir / "checkpoints" / "cache" / f"{version.checkpoint_sha256}.pt"
    return [p for p in (Path(version.checkpoint_path), cache) if p.exists()]


async def test_only_the_active_the_newest_and_the_pinned_versions_keep_their_files(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, model_versions_keep=KEEP
    ) as h:
        storage = h.services.storage
        checkpoints = tmp_path / "checkpoints"
        (checkpoints / "cache").mkdir(exist_ok=True)
        ids = [
            await register_copy(storage, tiny_checkpoint_path, checkpoints / f"run-{n}.pt",
                                note=f"run {n}", store_blob=True)
            for n in (102, 103, 104, 105)
        ]  # fmt: skip
        assert ids == [2, 3, 4, 5]
        for version_id in ids:  # as a replica that fetched them from the database would
            version = await storage.get_model_version(version_id)
            shutil.copy(
                version.checkpoint_path, checkpoints / "cache" / f"{version.checkpoint_sha256}.pt"
            )
        admin, reader = h.api.user(ADMIN_ID, "Admin"), h.api.user(7401)
        for command in ("/pin 3", "/unpin 3"):  # admins only
            [refused] = await h.ask(reader, command)
            assert refused.text == "Sorry, you are not allowed to use this command."
        assert not (await storage.get_model_version(3)).pinned
        await h.ask(admin, "/use 3")
        assert await write_version(h, reader) == 3  # a text that names version 3
        await h.ask(admin, "/use 1")

        [pinned] = await h.ask(admin, "/pin 2")
        assert pinned.text == "Version 2 is pinned: it is kept whatever the retention."
        versions = {v.id: v for v in await storage.list_model_versions()}
        assert [i for i, v in sorted(versions.items()) if v.pruned_at] == [3]
        assert files_of(h, versions[3]) == []
        assert not await storage.has_blob(versions[3].checkpoint_sha256)
        for kept in (1, 2, 4, 5):
            if kept != 1:  # the default model has no cached copy
                assert len(files_of(h, versions[kept])) == 2, kept
            assert await storage.has_blob(versions[kept].checkpoint_sha256), kept
        [text] = await storage.user_history(reader.id)
        assert text.model_version_id == 3  # the row stays: the text still names it

        [models] = await h.ask(admin, "/models")
        shown = models.text or ""
        assert shown.splitlines()[1].startswith("#5 · ")
        assert "\n#3 🗑 pruned · " in shown and "\n#2 📌 pinned · " in shown
        assert "\n#1 ✅ active · " in shown
        assert (
            "Kept: the active version, the newest 2 and the pinned ones (📌). The others are "
            "pruned (🗑): their file is deleted, their texts keep the version number."
        ) in shown
        assert "Keep one with /pin <id>; /unpin <id> lets it go." in shown

        pruned_reply = (
            "Version 3 was pruned: its file was deleted to save space, so it cannot be used "
            "or pinned any more. Its texts keep their version number."
        )
        [use] = await h.ask(admin, "/use 3")
        assert use.text == pruned_reply
        assert (await storage.active_model_version()).id == 1
        [pin] = await h.ask(admin, "/pin 3")
        assert pin.text == pruned_reply
        [usage] = await h.ask(admin, "/pin two")
        assert usage.text == "Usage: /pin <version id>, e.g. /pin 2 (see /models)."
        [missing] = await h.ask(admin, "/unpin 99")
        assert missing.text == "There is no model version 99; see /models."

        [unpinned] = await h.ask(admin, "/unpin 2")
        assert unpinned.text == (
            "Version 2 is no longer pinned: it is pruned once it is neither active nor among "
            "the newest."
        )
        version_2 = await storage.get_model_version(2)
        assert version_2.pruned_at is not None and files_of(h, version_2) == []
        assert (checkpoints / "default.pt").exists()  # not the bot's to delete

        # a smaller retention applies at the next start
        await h.restart(model_versions_keep=1)
        versions = {v.id: v for v in await h.services.storage.list_model_versions()}
        assert [i for i, v in sorted(versions.items()) if v.pruned_at] == [2, 3, 4]
        assert files_of(h, versions[4]) == [] and len(files_of(h, versions[5])) == 2
    # every command answered exactly once
    assert len(h.api.messages_to(ADMIN_ID)) == 9
    assert len(h.api.messages_to(reader.id)) == 3
