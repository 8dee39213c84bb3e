"""Small helpers every handler uses: the user's language, replies, user rows."""

from __future__ import annotations

from telegram import Update, User
from telegram.constants import ChatAction

from bot.parsing import split_message
from bot.services import Services
from bot.storage import User as StoredUser
from bot.texts import t


def lang_of(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def reply(update: Update, text: str) -> None:
    """Plain text (never a parse mode: generated text must not break formatting), split
    at Telegram's 4,096-character limit."""
    message = update.effective_message
    if message is None:
        return
    for chunk in split_message(text):
        await message.reply_text(chunk, parse_mode=None, do_quote=False)


async def reply_key(update: Update, key: str, **values: object) -> None:
    await reply(update, t(lang_of(update), key, **values))


async def remember_user(services: Services, user: User) -> StoredUser:
    """Create or refresh the user's row; returns it, preferences included."""
    return await services.storage.upsert_user(
        user.id, user.first_name, user.last_name, user.username, user.language_code
    )


async def typing(update: Update) -> None:
    chat = update.effective_chat
    if chat is not None:
        await chat.send_action(ChatAction.TYPING)
