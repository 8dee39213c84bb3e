"""The fake Bot API server's user side: tests act as Telegram users through it.

Users (:meth:`UserActions.user`), groups, blocked users and users without a private chat
are set up here; a user's message, document, button press, inline query or chosen inline
result becomes an update queued for getUpdates or the webhook, shaped as Telegram would
send it. An update can also be POSTed once straight to a webhook, past the queue.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from .objects import FakeUser, JsonDict, drop_none, find_bot_commands
from .records import SECRET_HEADER, SentMessage
from .state import ApiState


class UserActions(ApiState):
    """Acting as Telegram users: what they send becomes the bot's updates."""

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """A user whose private chat with the bot (chat id = user id) now exists."""
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        self.users[user_id] = user
        return user

    def block(self, user: FakeUser, blocked: bool = True) -> None:
        """Makes sends to the user fail as after they blocked the bot (403 Forbidden)."""
        if blocked:
            self._blocked.add(user.id)
        else:
            self._blocked.discard(user.id)

    def group(
        self,
        chat_id: int,
        members: list[FakeUser],
        title: str = "Test group",
        chat_type: Literal["group", "supergroup"] = "group",
    ) -> int:
        """A group chat (``chat_id`` negative, as Telegram's) with the bot and ``members``;
        users act in it with ``send_text(..., chat=chat_id)``."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.groups[chat_id] = {"id": chat_id, "type": chat_type, "title": title}
        self.group_members[chat_id] = {m.id for m in members}
        for member in members:
            self.users.setdefault(member.id, member)
        return chat_id

    def no_private_chat(self, user: FakeUser, missing: bool = True) -> None:
        """Sends to the user's private chat fail as for a user who never started the bot."""
        if missing:
            self._no_private_chat.add(user.id)
        else:
            self._no_private_chat.discard(user.id)

    async def enqueue_update(self, update: JsonDict) -> JsonDict:
        """Queues a raw update (for getUpdates or the webhook); assigns ``update_id``."""
        update = dict(update)
        given = update.get("update_id")
        if given is None:
            update["update_id"] = self._next_update_id
        elif int(given) < self._next_update_id:
            raise ValueError(f"update_id {given} is not above the previous update's")
        self._next_update_id = int(update["update_id"]) + 1
        self._pending.append(update)
        self._notify()
        return update

    async def send_text(
        self,
        user: FakeUser,
        text: str,
        reply_to: SentMessage | int | None = None,
        chat: int | None = None,
    ) -> JsonDict:
        """The user sends ``text`` to the bot (in ``chat``, a group, if given; else in
        their private chat); returns the queued update."""
        text = text.strip()  # Telegram trims messages; an empty one can't be sent at all.
        if not text:
            raise ValueError("Telegram clients can't send an empty message")
        entities = find_bot_commands(text)
        message = self._new_user_message(
            user, reply_to, text=text, entities=entities or None, _chat=chat
        )
        return await self.enqueue_update({"message": message})

    async def send_document(
        self,
        user: FakeUser,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str = "text/plain",
        reply_to: SentMessage | int | None = None,
        with_file_size: bool = True,
        chat: int | None = None,
    ) -> JsonDict:
        """The user sends a file (in ``chat``, a group, if given); the bot can fetch it
        with getFile and download it.

        ``with_file_size=False``: the message omits ``file_size``, which Telegram may do.
        """
        stored = self._store_file(content, filename, mime_type, "documents")
        caption = caption.strip() if caption else None
        document = self._document_object(stored)
        if not with_file_size:
            document.pop("file_size", None)
        message = self._new_user_message(
            user,
            reply_to,
            document=document,
            caption=caption or None,
            caption_entities=(find_bot_commands(caption) or None) if caption else None,
            _chat=chat,
        )
        return await self.enqueue_update({"message": message})

    async def press_button(self, user: FakeUser, message: SentMessage, callback_data: str) -> str:
        """The user presses an inline button; returns the callback query id to check answers."""
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(f"message #{message.message_id} is gone; its buttons can't be pressed")
        if current.chat_id != user.id and user.id not in self.group_members.get(
            current.chat_id, set()
        ):
            raise ValueError(f"message #{message.message_id} is not in a chat {user.id} is in")
        if callback_data not in current.callback_data:
            raise ValueError(
                f"message #{current.message_id} has no button with callback_data "
                f"{callback_data!r}; its buttons: {current.callback_data}"
            )
        return await self._callback_query(user, current, callback_data)

    async def press_forged_button(
        self, user: FakeUser, message: SentMessage, callback_data: str
    ) -> str:
        """A callback query with ``callback_data`` the message's buttons do not carry, as a
        modified client can send for any message it can see; returns the query id."""
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(f"message #{message.message_id} is gone")
        return await self._callback_query(user, current, callback_data)

    async def _callback_query(
        self, user: FakeUser, current: SentMessage, callback_data: str
    ) -> str:
        self.users.setdefault(user.id, user)
        query_id = str(4_000_000_000_000_000 + next(self._query_numbers))
        self.callback_answers[query_id] = None
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": self._bot_message_object(current),
            "chat_instance": str(-(10**18) - current.chat_id),
            "data": callback_data,
        }
        await self.enqueue_update({"callback_query": query})
        return query_id

    async def send_inline_query(
        self, user: FakeUser, query: str, chat_type: str = "private"
    ) -> str:
        """The user types ``@bot <query>`` in a chat of ``chat_type``; returns the query id
        (Telegram sends one query per pause in typing, each with a new id)."""
        self.users.setdefault(user.id, user)
        query_id = str(5_000_000_000_000_000 + next(self._inline_numbers))
        inline = {
            "id": query_id,
            "from": user.to_dict(),
            "query": query[:256],  # Telegram cuts inline queries at 256 characters
            "offset": "",
            "chat_type": chat_type,
        }
        self._inline_queries[query_id] = inline
        self.inline_answers[query_id] = None
        await self.enqueue_update({"inline_query": inline})
        return query_id

    async def choose_inline_result(
        self, user: FakeUser, query_id: str, result_id: str, chat: int, feedback: bool = True
    ) -> JsonDict:
        """The user picks a result: its message is posted in ``chat`` as the user's, "via"
        the bot; with ``feedback`` (BotFather's /setinlinefeedback) the bot then gets a
        ``chosen_inline_result``. Returns the posted message."""
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise ValueError(f"inline query {query_id} has no answer to choose from")
        [result] = [r for r in answer.results if r.get("id") == result_id]
        content = result.get("input_message_content") or {}
        message = self._new_user_message(
            user,
            None,
            text=content.get("message_text"),
            via_bot=self.bot_user,
            _chat=(None if chat == user.id else chat),
        )
        if feedback:
            chosen = {
                "result_id": result_id,
                "from": user.to_dict(),
                "query": self._inline_queries[query_id]["query"],
            }
            await self.enqueue_update({"chosen_inline_result": chosen})
        return message

    async def post_raw_to_webhook(self, update: JsonDict, secret: str | None) -> int:
        """POSTs ``update`` to the webhook with the given secret header (None: no header).

        Returns the HTTP status the bot's webhook server answered; the update does not go
        through the pending queue, so nothing is retried.
        """
        if self.webhook is None or self._session is None:
            raise RuntimeError("no webhook is set (or the server is not running)")
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with self._session.post(
            self.webhook.url, data=json.dumps(update).encode(), headers=headers
        ) as response:
            await response.read()
            return response.status

    # --- an update sent to one chosen replica, past the reverse proxy

    async def send_text_to(self, url: str, user: FakeUser, text: str, secret: str | None) -> int:
        """Like :meth:`send_text`, but POSTed once straight to ``url`` (e.g. one replica's
        own webhook port, bypassing the load balancer) instead of queued for the webhook.
        Returns the HTTP status; nothing is retried."""
        if self._session is None:
            raise RuntimeError("the server is not running")
        message = self._new_user_message(
            user, None, text=text, entities=find_bot_commands(text) or None
        )
        update = {"update_id": self._next_update_id, "message": message}
        self._next_update_id += 1
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with self._session.post(url, data=json.dumps(update).encode(), headers=headers) as r:
            await r.read()
            return r.status

    def _new_user_message(
        self,
        user: FakeUser,
        reply_to: SentMessage | int | None,
        _chat: int | None = None,
        **content: Any,
    ) -> JsonDict:
        self.users.setdefault(user.id, user)
        chat_id = user.id if _chat is None else _chat
        if _chat is not None and user.id not in self.group_members.get(_chat, set()):
            raise ValueError(f"user {user.id} is not a member of group {_chat}")
        message: JsonDict = {
            "message_id": self._new_message_id(chat_id),
            "from": user.to_dict(),
            "chat": self._chat_object(chat_id),
            "date": int(time.time()),
            **drop_none(content),
        }
        if reply_to is not None:
            target_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
            target = self._message_object(chat_id, target_id)
            if target is None:
                raise ValueError(f"no message #{target_id} in chat {chat_id} to reply to")
            message["reply_to_message"] = target
        self._user_messages[(chat_id, message["message_id"])] = message
        return message
