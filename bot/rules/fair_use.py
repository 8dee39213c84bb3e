"""What /stats shows about fair use: refusals today, top users, queues per user.

Kept apart from the /stats handler so that it only appends these lines. The refusal
counts and queues are this process's (see :mod:`bot.rules.limits`); the top users come from
the database and so cover every replica.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.rules.access import EXTRA_KEY as ACCESS_KEY
from bot.rules.access import AccessControl
from bot.rules.limits import PENDING, RATE, counters_of
from bot.telegram.services import Services
from bot.texts import t

TOP = 5


async def stats_lines(services: Services, lang: str | None = None) -> list[str]:
    counters = counters_of(services)
    refusals = await counters.refusals_today()
    engine = services.engine
    access = services.extra.get(ACCESS_KEY)
    blocked = access.refused_today() if isinstance(access, AccessControl) else 0
    lines = [
        t(lang, "stats_refused", pending=refusals.get(PENDING, 0), rate=refusals.get(RATE, 0),
          blocked=blocked, busy=engine.refused_busy, evicted=engine.evicted)
    ]  # fmt: skip
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    top = await services.storage.top_users_since(midnight, TOP)
    none = t(lang, "stats_none")
    lines.append(
        t(lang, "stats_top", users=", ".join(f"{uid} ({n})" for uid, n in top) if top else none)
    )
    in_flight = await counters.pending_by_user()
    waiting = engine.queue_depth_by_key()
    busiest = sorted(in_flight.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    lines.append(
        t(lang, "stats_in_flight", users=(
            ", ".join(
                t(lang, "stats_in_flight_item", user=uid, count=n, waiting=waiting.get(uid, 0))
                for uid, n in busiest
            )
            if busiest
            else none
        ))
    )  # fmt: skip
    return lines
