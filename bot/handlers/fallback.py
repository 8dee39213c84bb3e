"""What the bot says to messages no other handler takes: unknown commands and plain text.

Registered in a late handler group (``FALLBACK_GROUP``) so that every command others add,
in any earlier group, wins: before answering, the fallback asks each handler of the other
non-negative groups whether it takes the update (negative groups hold gates that look at
every update, such as access control, and do not count as an answer).

Private chats get a one-line hint to /help. Groups get nothing unless the message is
addressed to this bot: a command with ``@thisbot``, or a reply to one of its messages —
a group is a shared room, and commands without a suffix may be meant for other bots.
Admins' plain text gets no hint: they send text to reply to it with /retrain.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.telegram.commands import addressed_to_me, leading_command
from bot.telegram.replies import reply_key
from bot.telegram.services import get_services

FALLBACK_GROUP = 100


def _taken_by_another_handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    for group, handlers in context.application.handlers.items():
        if group < 0 or group == FALLBACK_GROUP:
            continue
        for handler in handlers:
            check = handler.check_update(update)
            if check is not None and check is not False:
                return True
    return False


def _replies_to_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    message = update.effective_message
    replied = message.reply_to_message if message else None
    return bool(replied and replied.from_user and replied.from_user.id == context.bot.id)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or _taken_by_another_handler(update, context):
        return
    command = leading_command(message.text, message.entities) or ""
    if not addressed_to_me(command, context.bot.username):
        return  # "/start@OtherBot": someone else's
    if chat.type != ChatType.PRIVATE and "@" not in command and not _replies_to_me(update, context):
        return
    await reply_key(update, "unknown_command")


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or _taken_by_another_handler(update, context):
        return
    if get_services(context).settings.is_admin(user.id if user else None):
        return  # an admin's text is usually material for "/retrain" sent as a reply to it
    message = update.effective_message
    if message is not None and message.via_bot is not None:
        return  # an inline result the user posted, not a message to the bot
    if chat.type != ChatType.PRIVATE and not _replies_to_me(update, context):
        return
    await reply_key(update, "plain_text_hint")
