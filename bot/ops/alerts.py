"""Unexpected errors told to the admins in Telegram: once per kind and interval.

A :class:`logging.Handler` on the root logger: every record at ERROR or above that
carries an exception (``log.exception``, ``exc_info=``) is an unexpected error,
whichever part of the bot logged it, the PTB error handler included (the way
python-telegram-bot's error-handler example reaches its developer). Its kind is the
exception's class and the logger that caught it.

The first error of a kind goes to every admin at once, in one line. Further errors of
that kind within ``ALERT_INTERVAL_S`` are only counted; when the interval ends, a count
above zero is one more message ("N more times"), which opens the next interval. A storm
of a thousand identical errors is therefore two messages, never a thousand; a kind that
stays quiet for an interval is forgotten. At a stop the counts not yet told are sent.

Expected trouble (a refused reply, a network blip while polling) is logged as a warning
and never reaches this handler. Failures to send an alert are warnings too, so an alert
can never cause another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from telegram import Bot
from telegram.error import TelegramError

from bot import metrics
from bot.settings.redact import redact
from bot.texts import t

log = logging.getLogger(__name__)

# Longest error text quoted in an alert; the traceback is in the log, not in Telegram.
MAX_ERROR_CHARS = 300


@dataclass
class _Kind:
    line: str  # the latest error of this kind, one line
    count: int = 0  # errors of this kind since the last message
    timer: asyncio.TimerHandle | None = None


def _one_line(record: logging.LogRecord) -> tuple[str, str]:
    """(kind, one line describing the error) for a record with an exception."""
    assert record.exc_info is not None
    exc = record.exc_info[1]
    name = type(exc).__name__
    # SQLAlchemy appends the statement and its parameters: the log has them, the admin
    # needs the cause.
    text = " ".join(str(exc).split("[SQL:")[0].split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[: MAX_ERROR_CHARS - 1] + "…"
    line = f"{name}: {text}" if text else name
    return f"{name} in {record.name}", redact(f"{line} ({record.name})")


class AdminAlerts(logging.Handler):
    """Tells ``admin_ids`` about unexpected errors through ``bot`` (see the module)."""

    def __init__(
        self,
        bot: Bot,
        admin_ids: frozenset[int],
        interval_s: float,
    ) -> None:
        super().__init__(level=logging.ERROR)
        self.bot = bot
        self.admin_ids = admin_ids
        self.interval_s = interval_s
        self.loop = asyncio.get_running_loop()
        self._kinds: dict[str, _Kind] = {}
        self._sending: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ any thread

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or record.exc_info[1] is None:
            return
        if record.name == log.name:
            return  # never alert about alerting
        if isinstance(record.exc_info[1], asyncio.CancelledError):
            # A task cancelled at a stop whose cleanup was cut short: SQLAlchemy's pool
            # logs a rollback interrupted that way at ERROR and discards the connection.
            # A stop is no unexpected error: the log keeps it, the admins are not told.
            return
        kind, line = _one_line(record)
        metrics.UNEXPECTED_ERRORS.labels(type(record.exc_info[1]).__name__).inc()
        # emit() may run on any thread (the engine's worker, a thread pool): the
        # bookkeeping and the sending happen on the bot's loop.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
            self.loop.call_soon_threadsafe(self._note, kind, line)

    # ------------------------------------------------------------ on the loop

    def _note(self, kind: str, line: str) -> None:
        state = self._kinds.get(kind)
        if state is not None:
            state.count += 1
            state.line = line
            return
        state = _Kind(line)
        self._kinds[kind] = state
        state.timer = self.loop.call_later(self.interval_s, self._interval_ended, kind)
        self._send(t(None, "alert_error", error=line))

    def _interval_ended(self, kind: str) -> None:
        state = self._kinds.get(kind)
        if state is None:
            return
        if state.count == 0:
            del self._kinds[kind]  # quiet for a whole interval: the next one is news
            return
        self._send(self._repeated(state))
        state.count = 0
        state.timer = self.loop.call_later(self.interval_s, self._interval_ended, kind)

    def _repeated(self, state: _Kind) -> str:
        minutes = max(1, round(self.interval_s / 60))
        return t(None, "alert_repeated", count=state.count, minutes=minutes, error=state.line)

    def _send(self, text: str) -> None:
        task = self.loop.create_task(self._tell_admins(text), name="admin-alert")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _tell_admins(self, text: str) -> None:
        for admin_id in sorted(self.admin_ids):
            try:
                await self.bot.send_message(admin_id, text)
            except TelegramError as exc:  # never opened a chat with the bot, blocked it
                log.warning("could not alert admin %s: %s", admin_id, exc)
            except Exception as exc:  # a stopping bot; an alert must never raise
                log.warning("could not alert admin %s: %s", admin_id, type(exc).__name__)

    async def aclose(self) -> None:
        """Send the counts not yet told, then stop (at the bot's stop)."""
        for state in self._kinds.values():
            if state.timer is not None:
                state.timer.cancel()
            if state.count:
                self._send(self._repeated(state))
        self._kinds.clear()
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)


def install(alerts: AdminAlerts) -> None:
    logging.getLogger().addHandler(alerts)


async def uninstall(alerts: AdminAlerts) -> None:
    logging.getLogger().removeHandler(alerts)
    await alerts.aclose()
