"""docs/OPERATIONS.md tells an operator running cluster mode without Compose what each
process needs, and says one thing about when an access change reaches other replicas."""

from __future__ import annotations

import re
from pathlib import Path

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "OPERATIONS.md"


def section(title: str) -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_host_process_recipe_gives_each_replica_its_port_and_the_trainer_its_needs() -> None:
    recipe = section("Cluster mode as host processes (no Compose)")
    ports = re.findall(r"WEBHOOK_PORT=(\d+)", recipe)
    assert len(set(ports)) >= 2, "each replica on a host needs its own WEBHOOK_PORT"
    for port in set(ports):
        assert f"server 127.0.0.1:{port} max_fails=0;" in recipe  # nginx knows each one
    for needed in ("CHECKPOINT_DIR", "CORPUS_DIR", "DATABASE_URL", "TRAINING=queue",
                   "python -m bot.trainer", "TRAINING_LEASE_S"):  # fmt: skip
        assert needed in recipe, needed


def test_a_block_reaches_other_replicas_by_notify_and_nowhere_at_their_next_start() -> None:
    text = " ".join(OPERATIONS.read_text(encoding="utf-8").split())
    assert "replicas at their next start" not in text
    assert "a `/block`, `/unblock` or `/allow` reaches every replica by NOTIFY" in text
