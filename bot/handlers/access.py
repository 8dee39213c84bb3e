"""Admin commands for access control: /allow, /block, /unblock, /users.

Each parses its argument, calls :mod:`bot.rules.access` (which keeps memory and the database
in step), and replies. Every one is refused for non-admins by ``admin_only``.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.handlers.admin import admin_only, to_admin_privately
from bot.rules.access import access_of
from bot.storage.records import UserSummary
from bot.telegram.display import printable
from bot.telegram.parsing import NotAnId, command_argument, parse_id
from bot.telegram.replies import answer_query, edit_query_text, lang_of, reply_key
from bot.telegram.services import Services, get_services
from bot.texts import t

USERS_PAGE_SIZE = 10
MAX_REASON_CHARS = 200


def _parse_id(raw: str) -> int | None:
    try:
        return parse_id(raw)
    except NotAnId:
        return None


def _id_and_rest(update: Update) -> tuple[int | None, str]:
    message = update.effective_message
    words = command_argument(message).split(maxsplit=1) if message is not None else []
    if not words:
        return None, ""
    return _parse_id(words[0]), words[1] if len(words) > 1 else ""


async def _target(update: Update, usage_key: str) -> tuple[int, int, str] | None:
    """(the admin's id, the user id the command names, the rest of its line), or None
    once the command's usage is told."""
    admin = update.effective_user
    user_id, rest = _id_and_rest(update)
    if user_id is None or admin is None:
        await reply_key(update, usage_key)
        return None
    return admin.id, user_id, rest


@admin_only
async def allow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (target := await _target(update, "access_usage_allow")) is None:
        return
    admin_id, user_id, _ = target
    services = get_services(context)
    access = access_of(services)
    await access.allow(services.storage, user_id, admin_id)
    key = "access_allowed" if services.settings.access == "allowlist" else "access_allowed_open"
    await reply_key(update, key, user_id=user_id)
    if user_id in access.blocked:
        await reply_key(update, "access_still_blocked", user_id=user_id)


@admin_only
async def block(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (target := await _target(update, "access_usage_block")) is None:
        return
    admin_id, user_id, raw_reason = target
    services = get_services(context)
    if services.settings.is_admin(user_id):
        await reply_key(update, "access_block_admin", user_id=user_id)
        return
    printable = "".join(c for c in raw_reason if c.isprintable() or c.isspace())
    reason = " ".join(printable.split())[:MAX_REASON_CHARS] or None
    await access_of(services).block(services.storage, user_id, reason, admin_id)
    await reply_key(
        update, "access_blocked_done", user_id=user_id, reason=f" ({reason})" if reason else ""
    )


@admin_only
async def unblock(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (target := await _target(update, "access_usage_unblock")) is None:
        return
    admin_id, user_id, _ = target
    services = get_services(context)
    lifted = await access_of(services).unblock(services.storage, user_id, admin_id)
    await reply_key(update, "access_unblocked" if lifted else "access_not_blocked", user_id=user_id)


def _line(lang: str | None, u: UserSummary) -> str:
    # Names are whatever users typed: shown printable, like everywhere else (bot.telegram.display).
    name = printable(u.first_name or "?", keep_newlines=False)
    if u.username:
        name += f" @{u.username}"
    when = u.last_active.strftime("%Y-%m-%d %H:%M") if u.last_active else t(lang, "users_never")
    line = t(lang, "users_item", user_id=u.user_id, name=name, generations=u.generations, when=when)
    if u.blocked:
        blocked_at = u.blocked_at.strftime("%Y-%m-%d") if u.blocked_at else "?"
        reason = printable(u.reason, keep_newlines=False) if u.reason else "—"
        line += "\n" + t(lang, "users_item_blocked", when=blocked_at, reason=reason)
    return line


async def _users_page(
    services: Services, lang: str | None, offset: int, blocked_only: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    storage = services.storage
    total = await storage.count_user_summaries(blocked_only)
    rows = await storage.user_summaries(offset, USERS_PAGE_SIZE, blocked_only)
    if not rows:
        return t(lang, "users_none_blocked" if blocked_only else "users_none"), None
    last = offset + len(rows)
    header = "users_blocked_header" if blocked_only else "users_header"
    lines = [t(lang, header, first=offset + 1, last=last, total=total)]
    lines += [_line(lang, u) for u in rows]
    which = "b" if blocked_only else "a"
    buttons = []
    if offset > 0:
        previous = max(0, offset - USERS_PAGE_SIZE)
        buttons.append(InlineKeyboardButton("◀", callback_data=f"users:{which}:{previous}"))
    if last < total:
        buttons.append(InlineKeyboardButton("▶", callback_data=f"users:{which}:{last}"))
    return "\n".join(lines)[:4096], InlineKeyboardMarkup([buttons]) if buttons else None


@admin_only
async def users(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services, message = get_services(context), update.effective_message
    if message is None:
        return
    blocked_only = command_argument(message).strip().lower() == "blocked"
    text, markup = await _users_page(services, lang_of(update), 0, blocked_only)
    # Ids, names and activity are user data: sent privately, never into a group.
    await to_admin_privately(
        update, lambda chat_id: context.bot.send_message(chat_id, text, reply_markup=markup)
    )


@admin_only
async def users_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    await answer_query(query)
    _, which, offset = query.data.split(":")
    text, markup = await _users_page(
        get_services(context), lang_of(update), int(offset), which == "b"
    )
    await edit_query_text(query, text, markup)
