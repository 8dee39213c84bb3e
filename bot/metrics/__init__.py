"""What the bot and its trainers count, for Prometheus (``GET /metrics``).

Every metric lives in :mod:`prometheus_client`'s default registry, next to the library's
own process metrics (CPU, memory, open files), so one ``generate_latest()`` serves them
all. Each process (a replica, a trainer) exposes its own; Prometheus's ``instance`` and
``job`` labels tell them apart, so nothing here names the process.

Label values come from fixed sets (the sources, outcomes and reasons below, Bot API
method names, database error classes, training states): never a user id, chat id, seed
or message, so the number of series stays bounded however many people use the bot.

Counting costs one dictionary look-up and a lock per event (see
``benchmarks/metrics_cost.py``); what the generation engine already counts for itself
(steps, queue depth, rows in the batch) is read only when Prometheus scrapes, by
:mod:`bot.metrics.engine`, at no cost per generation.
"""

from __future__ import annotations

import re
from typing import Final

from prometheus_client import Counter, Gauge, Histogram

# What asked for a text (label "source").
WRITE: Final = "write"
BUTTON: Final = "button"
INLINE: Final = "inline"
SOURCES: Final = (WRITE, BUTTON, INLINE)
# What became of it (label "outcome"); "refused" carries a reason, the others reason "".
DELIVERED: Final = "delivered"
NOT_DELIVERED: Final = "not_delivered"
REFUSED: Final = "refused"
FAILED: Final = "failed"
# Why a text was refused (label "reason"), a closed set: anything else is "other".
REASONS: Final = frozenset(
    {"seed_unknown", "busy", "restarting", "limit_pending", "limit_rate", "other"}
)

# Update received -> text sent: most texts take a fraction of a second, a loaded replica
# seconds, a 429 or a retried delivery tens of seconds.
LATENCY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
# A paced request waits from nothing (a quiet chat) to a flood-control pause of minutes.
WAIT_BUCKETS: Final = (0.001, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0, 120.0)

GENERATIONS = Counter(
    "bot_generations",
    "Texts asked for, by source (write, button, inline) and outcome (delivered, "
    "not_delivered, refused with a reason, failed).",
    ["source", "outcome", "reason"],
)
LATENCY = Histogram(
    "bot_generation_latency_seconds",
    "From the update's arrival to Telegram confirming the text, by source.",
    ["source"],
    buckets=LATENCY_BUCKETS,
)
BOT_API_CALLS = Counter(
    "bot_telegram_requests",
    "Outgoing Bot API calls by method and result (ok, 429, 4xx, 5xx, network).",
    ["method", "result"],
)
RETRIES = Counter(
    "bot_telegram_retries",
    "Bot API calls sent again: after a 429 by the per-chat pacer (pacer), or after a "
    "transient failure by a reply's delivery (reply).",
    ["where"],
)
PACER_WAIT = Histogram(
    "bot_telegram_pacer_wait_seconds",
    "How long a message waited for its chat's turn in the per-chat pacer.",
    buckets=WAIT_BUCKETS,
)
DB_ERRORS = Counter(
    "bot_db_errors",
    "Database errors by kind: 'locked' (SQLite's write lock outlasted the busy "
    "timeout), else the driver's exception class.",
    ["kind"],
)
LOCK_WAIT = Histogram(
    "bot_db_lock_wait_seconds",
    "Time spent waiting for a named cluster lock (PostgreSQL advisory locks).",
    ["lock"],
    buckets=WAIT_BUCKETS,
)
TRAINING_RUNS = Counter(
    "bot_training_runs",
    "Training runs moved into each state by this process.",
    ["state"],
)
TRAINING_PROGRESS = Gauge(
    "bot_training_progress_ratio",
    "The running training's progress (steps done / planned) in this process; 0 when none runs.",
)
TRAINING_LAST_SUCCESS = Gauge(
    "bot_training_last_success_timestamp_seconds",
    "When this process last saw a training run succeed (Unix time; 0: not yet).",
)
READY = Gauge("bot_ready", "1 while this process answers /readyz with 200, else 0.")
UNEXPECTED_ERRORS = Counter(
    "bot_unexpected_errors",
    "Unexpected errors (logged with a traceback, told to the admins), by exception class.",
    ["kind"],
)

_METHOD = re.compile(r"[A-Za-z]{1,40}")


def method_label(endpoint: str) -> str:
    """A Bot API method name as a label; anything else (never expected) is "other"."""
    return endpoint if _METHOD.fullmatch(endpoint) else "other"


def result_label(status: int | None) -> str:
    """An HTTP status as one of a handful of results; None: no answer (network)."""
    if status is None:
        return "network"
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "429"
    return "4xx" if status < 500 else "5xx"


def generation(source: str, outcome: str, reason: str = "") -> None:
    """Count one text asked for (``source`` in :data:`SOURCES`)."""
    if outcome == REFUSED and reason not in REASONS:
        reason = "other"
    GENERATIONS.labels(source, outcome, reason).inc()


def _declare() -> None:
    """Put every fixed label set at zero now: a rate over a series that appears only at
    its first event misses that event, and alerts read better with explicit zeros."""
    for source in SOURCES:
        for outcome in (DELIVERED, NOT_DELIVERED, FAILED):
            GENERATIONS.labels(source, outcome, "")
        for reason in REASONS:
            GENERATIONS.labels(source, REFUSED, reason)
        LATENCY.labels(source)
    for where in ("pacer", "reply"):
        RETRIES.labels(where)
    for state in ("queued", "running", "finishing", "succeeded", "failed", "cancelled"):
        TRAINING_RUNS.labels(state)


_declare()
