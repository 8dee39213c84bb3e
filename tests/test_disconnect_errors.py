"""Which errors count as a lost database connection (reconnect, one log line) and which
are bugs (a traceback): the trainer's and the pools' outage handling rests on it."""

from __future__ import annotations

import asyncpg
import pytest

from bot.training.retry import is_disconnect


@pytest.mark.parametrize(
    "error",
    [
        ConnectionResetError("reset by peer"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        # what a query meets when the server went down during the previous one
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
    ],
    ids=type,
)
def test_a_dropped_or_broken_connection_counts_as_a_disconnect(error: Exception) -> None:
    assert is_disconnect(error)


@pytest.mark.parametrize(
    "error",
    [ValueError("a bug"), asyncpg.exceptions.UniqueViolationError("duplicate key")],
    ids=type,
)
def test_other_errors_are_not_taken_for_a_disconnect(error: Exception) -> None:
    assert not is_disconnect(error)


def test_the_cause_chain_is_searched() -> None:
    try:
        try:
            raise asyncpg.exceptions.InternalClientError("cannot switch to state 12")
        except Exception as inner:
            raise RuntimeError("the job queue failed") from inner
    except RuntimeError as outer:
        assert is_disconnect(outer)
