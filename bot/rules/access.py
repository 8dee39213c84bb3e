"""Who may use the bot: ACCESS=open|allowlist, admins' allow list and blocks, and the gate.

The decisions live in the database (``user_access``) and, for speed and so that a
blocked user's updates never touch the database, in memory: loaded at start-up, changed
together with the database by /allow, /block and /unblock. The gate runs before every
other handler (group -1) and stops the update with ``ApplicationHandlerStop`` when the
user is blocked, or not allowed in allow-list mode; admins always pass.

A refused user gets one polite reply a day at most (in private chats; silence in groups),
then silence. Those reply times are kept in memory, bounded, so a stranger's flood costs
neither a database row nor more than one message; a restart may send one more.

Per process until issue "Scale-out": a block made on one replica reaches the others at
their next start.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime
from enum import StrEnum

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.settings.config import Settings
from bot.storage import Storage
from bot.storage.records import AccessRule
from bot.telegram.services import KEY as SERVICES_KEY
from bot.telegram.services import Services
from bot.texts import t

log = logging.getLogger(__name__)

EXTRA_KEY = "access"
NOTICE_INTERVAL_S = 24 * 3600.0
MAX_NOTICES_KEPT = 100_000


class Verdict(StrEnum):
    OK = "ok"
    BLOCKED = "blocked"
    NOT_ALLOWED = "not_allowed"


class AccessControl:
    """The access decisions in memory, mirrored to the database on every change."""

    def __init__(self, settings: Settings, rules: list[AccessRule]) -> None:
        self.settings = settings
        self.allowed: set[int] = {r.user_id for r in rules if r.allowed}
        self.blocked: set[int] = {r.user_id for r in rules if r.blocked}
        self._noticed: OrderedDict[int, float] = OrderedDict()
        self._refused_day = datetime.now(UTC).date()
        self._refused = 0  # updates stopped on that day (for /stats)

    @classmethod
    async def load(cls, settings: Settings, storage: Storage) -> AccessControl:
        return cls(settings, await storage.access_rules())

    def verdict(self, user_id: int) -> Verdict:
        if self.settings.is_admin(user_id):
            return Verdict.OK
        if user_id in self.blocked:
            return Verdict.BLOCKED
        if self.settings.access == "allowlist" and not (
            user_id in self.allowed or user_id in self.settings.allowed_user_ids
        ):
            return Verdict.NOT_ALLOWED
        return Verdict.OK

    def count_refusal(self) -> None:
        today = datetime.now(UTC).date()
        if today != self._refused_day:
            self._refused_day, self._refused = today, 0
        self._refused += 1

    def refused_today(self) -> int:
        return self._refused if self._refused_day == datetime.now(UTC).date() else 0

    def first_notice_today(self, user_id: int, now: float | None = None) -> bool:
        """True at most once per NOTICE_INTERVAL_S per user."""
        now = time.monotonic() if now is None else now
        last = self._noticed.get(user_id)
        if last is not None and now - last < NOTICE_INTERVAL_S:
            return False
        self._noticed[user_id] = now
        self._noticed.move_to_end(user_id)
        while len(self._noticed) > MAX_NOTICES_KEPT:
            self._noticed.popitem(last=False)
        return True

    async def reload(self, storage: Storage) -> None:
        """Take the decisions again from the database (another replica
        changed one); notices already given are kept."""
        rules = await storage.access_rules()
        self.allowed = {r.user_id for r in rules if r.allowed}
        self.blocked = {r.user_id for r in rules if r.blocked}

    async def allow(self, storage: Storage, user_id: int, by: int) -> AccessRule:
        rule, _ = await storage.set_access(user_id, changed_by=by, allowed=True)
        self.allowed.add(user_id)
        return rule

    async def block(self, storage: Storage, user_id: int, reason: str | None, by: int) -> None:
        await storage.set_access(user_id, changed_by=by, blocked=True, reason=reason)
        self.blocked.add(user_id)

    async def unblock(self, storage: Storage, user_id: int, by: int) -> bool:
        """Lift a block; False if there was none."""
        _, before = await storage.set_access(user_id, changed_by=by, blocked=False)
        self.blocked.discard(user_id)
        self._noticed.pop(user_id, None)
        return before is not None and before.blocked


async def start(services: Services) -> None:
    """At start-up, before the first update: the decisions into memory."""
    services.extra[EXTRA_KEY] = await AccessControl.load(services.settings, services.storage)


def access_of(services: Services) -> AccessControl:
    access = services.extra.get(EXTRA_KEY)
    if not isinstance(access, AccessControl):
        raise RuntimeError("access control is not initialised (post_init has not run)")
    return access


async def gate(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group -1: stop every update of a blocked or not-allowed user before any handler."""
    services = context.application.bot_data.get(SERVICES_KEY)
    if not isinstance(update, Update) or not isinstance(services, Services):
        return
    user = update.effective_user
    access = services.extra.get(EXTRA_KEY)
    if user is None or not isinstance(access, AccessControl):
        return
    verdict = access.verdict(user.id)
    if verdict is Verdict.OK:
        return
    access.count_refusal()
    text = None
    if access.first_notice_today(user.id):
        log.info("refused an update from %s user %s", verdict.value, user.id)
        text = t(user.language_code, f"access_{verdict.value}")
    chat = update.effective_chat
    try:
        # A press or an inline query is always answered (without text after the day's
        # notice), or the client keeps spinning.
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=text is not None)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)
        elif text is not None and chat is not None and chat.type == ChatType.PRIVATE:
            await chat.send_message(text)
    except TelegramError as exc:  # the notice is a courtesy; the refusal stands
        log.info("could not tell user %s they are refused: %s", user.id, exc)
    raise ApplicationHandlerStop
