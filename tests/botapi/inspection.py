"""What tests read of the fake Bot API server, and how they wait for it.

Tests inspect what the bot did through :attr:`FakeBotApi.calls` and the
:class:`SentMessage` records, and wait with :meth:`Inspection.wait_for`, whose predicate is
re-checked whenever the server's state changes; a timeout says what the bot did
(:meth:`Inspection.describe`), so a failing test explains itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TypeVar

from .objects import JsonDict, canonical_json
from .records import ApiCall, InlineAnswer, SentMessage
from .state import ApiState, wait_event

T = TypeVar("T")


class Inspection(ApiState):
    """What the bot did, and waiting until it has done something."""

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every message the bot sent to ``chat_id``, oldest first, deleted ones included."""
        return list(self._sent_by_chat.get(chat_id, []))

    @property
    def all_sent(self) -> list[SentMessage]:
        return list(self._sent)

    def mark(self, chat_id: int) -> int:
        """How many messages the bot has sent to ``chat_id``; pass it as ``since`` later."""
        return len(self._sent_by_chat.get(chat_id, []))

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def commands_for(
        self, scope: JsonDict | None = None, language_code: str = ""
    ) -> list[JsonDict]:
        """The commands set for exactly this scope and language (like getMyCommands)."""
        key = (canonical_json(scope or {"type": "default"}), language_code)
        return list(self.my_commands.get(key, []))

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by getUpdates or delivered to the webhook."""
        return list(self._pending)

    def describe(self, chat_id: int | None = None) -> str:
        """A human-readable account of what the bot did, for assertion messages."""
        lines: list[str] = []
        chats = [chat_id] if chat_id is not None else sorted(self._sent_by_chat)
        for chat in chats:
            messages = self._sent_by_chat.get(chat, [])
            lines.append(f"bot messages in chat {chat}: {len(messages)}")
            lines += [f"  [{index}] {m.summary()}" for index, m in enumerate(messages)]
        failures = [call for call in self.calls if call.status not in (None, 200)]
        if failures:
            lines.append("failed API calls (latest last):")
            lines += [f"  {c.method} -> {c.status} {c.error}" for c in failures[-8:]]
        others = [call for call in self.calls if call.method != "getUpdates"]
        polls = len(self.calls) - len(others)
        lines.append(f"API calls other than getUpdates (latest last; {polls} getUpdates):")
        for call in others[-12:]:
            params = json.dumps(call.params, ensure_ascii=False, default=str)
            params = params if len(params) <= 160 else params[:157] + "..."
            uploads = [
                f"{f.field}={f.filename!r} ({len(f.content)} bytes)" for f in call.files.values()
            ]
            params += f" files: {', '.join(uploads)}" if uploads else ""
            lines.append(f"  {call.method} {params} -> {call.status} {call.error or ''}".rstrip())
        mode = f"webhook {self.webhook.url}" if self.webhook else "polling"
        lines.append(f"mode: {mode}; pending updates: {len(self._pending)}")
        if self.webhook and self._last_webhook_error:
            lines.append(f"last webhook error: {self._last_webhook_error[1]}")
        return "\n".join(lines)

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 30.0,
        description: str = "condition",
        chat_id: int | None = None,
    ) -> T:
        """Waits until ``predicate()`` returns something other than ``None``/``False``.

        The predicate is re-checked whenever the server's state changes (any API call,
        update, delivery), so there is no polling interval to tune.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result is not None and result is not False:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"Timed out after {timeout:g}s waiting for {description}.\n"
                    + self.describe(chat_id)
                )
            await wait_event(changed, remaining)

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 30.0, since: int = 0
    ) -> list[SentMessage]:
        """The first ``count`` bot messages to ``chat_id`` at index ``since`` or later."""

        def arrived() -> list[SentMessage] | None:
            messages = self._sent_by_chat.get(chat_id, [])[since:]
            return messages[:count] if len(messages) >= count else None

        return await self.wait_for(
            arrived,
            timeout,
            f"{count} bot message(s) in chat {chat_id} from index {since}",
            chat_id=chat_id,
        )

    async def wait_for_edit(
        self,
        message: SentMessage,
        predicate: Callable[[SentMessage], bool],
        timeout: float = 30.0,
    ) -> SentMessage:
        """Waits until ``predicate(message)`` holds; the message is updated in place."""
        return await self.wait_for(
            lambda: message if predicate(message) else None,
            timeout,
            f"message #{message.message_id} in chat {message.chat_id} to satisfy the predicate "
            f"(now: {message.summary()})",
            chat_id=message.chat_id,
        )

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 30.0) -> JsonDict:
        return await self.wait_for(
            lambda: self.callback_answers.get(query_id),
            timeout,
            f"answerCallbackQuery for query {query_id}",
        )

    async def wait_for_inline_answer(self, query_id: str, timeout: float = 30.0) -> InlineAnswer:
        return await self.wait_for(
            lambda: self.inline_answers.get(query_id),
            timeout,
            f"answerInlineQuery for inline query {query_id}",
        )
