"""Recognising a command the way Telegram and PTB's CommandHandler do, where PTB has no
ready-made filter: in captions (a document or photo sent with "/retrain" or "/write …").

A command counts only when its bot_command entity starts the caption, its name matches
(case-insensitive), and an ``@username`` suffix, if any, names *this* bot — read from the
bot at match time, as CommandHandler does, so ``/retrain@OtherBot`` in a group is left to
the other bot.
"""

from __future__ import annotations

from telegram import Message, MessageEntity
from telegram.ext.filters import MessageFilter


def leading_command(text: str | None, entities: tuple[MessageEntity, ...]) -> str | None:
    """The ``name`` or ``name@target`` of a command at offset 0, without the slash."""
    if not text:
        return None
    for entity in entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            # Offsets count UTF-16 units; a command at offset 0 is ASCII, so they agree.
            return text[1 : entity.length]
    return None


def addressed_to_me(command: str, bot_username: str | None) -> bool:
    """False for ``name@someone_else``; True without a suffix or with this bot's name."""
    _, at, target = command.partition("@")
    return not at or target.lower() == (bot_username or "").lower()


class CaptionCommand(MessageFilter):
    """Messages whose caption starts with one of ``names`` addressed to this bot."""

    __slots__ = ("names",)

    def __init__(self, *names: str) -> None:
        super().__init__(name=f"CaptionCommand({', '.join(names)})")
        self.names = frozenset(name.lower() for name in names)

    def filter(self, message: Message) -> bool:
        command = leading_command(message.caption, message.caption_entities)
        if command is None:
            return False
        name = command.partition("@")[0].lower()
        return name in self.names and addressed_to_me(command, message.get_bot().username)
