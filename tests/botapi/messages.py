"""The fake Bot API server's methods for text messages: send, edit, delete, chat actions.

Each checks what Telegram checks (the chat exists and may be written to, text length,
entities and parse mode, inline keyboards, the message to reply to or edit) and fails
with Telegram's description. A :class:`SentMessage` keeps what a client displays and is
updated in place by edits and deletions.
"""

from __future__ import annotations

import time

from .formatting import EntityParseError, UnsupportedParseModeError, format_text
from .objects import JsonDict, add_bot_commands, inline_buttons, inline_only, strip_text
from .params import Params
from .records import MAX_CAPTION_LENGTH, MAX_MESSAGE_LENGTH, ApiError, SentMessage, bad_request
from .state import ApiState

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_BUTTON_ACTIONS = frozenset(
    {
        "callback_data", "url", "web_app", "login_url", "switch_inline_query",
        "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
        "copy_text", "callback_game", "pay",
    }
)  # fmt: skip


class MessageMethods(ApiState):
    """sendMessage, the edits, deleteMessage(s), sendChatAction and their shared checks."""

    def _target_chat(self, params: Params) -> int:
        chat_id = params.raw("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if chat_id in self.groups:
            return chat_id
        if chat_id not in self.users:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._no_private_chat:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat_id

    def _formatted(
        self, params: Params, text_name: str, entities_name: str
    ) -> tuple[str, str, list[JsonDict]]:
        """(as sent, as displayed, entities) for a text or caption parameter."""
        raw = params.text(text_name) or ""
        try:
            text, entities = format_text(
                raw, params.text("parse_mode"), params.array(entities_name)
            )
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        except UnsupportedParseModeError as exc:
            raise bad_request("unsupported parse_mode") from exc
        text, entities = strip_text(text, entities)
        return raw, text, add_bot_commands(text, entities)

    def _checked_markup(self, params: Params) -> JsonDict | None:
        markup = params.mapping("reply_markup")
        for button in inline_buttons(markup):
            if not _BUTTON_ACTIONS.intersection(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        return markup

    def _reply_target(self, chat_id: int, params: Params) -> int | None:
        reply = params.mapping("reply_parameters") or {}
        message_id = reply.get("message_id", params.integer("reply_to_message_id"))
        if message_id is None:
            return None
        if self._message_object(chat_id, int(message_id)) is not None:
            return int(message_id)
        if reply.get("allow_sending_without_reply", params.flag("allow_sending_without_reply")):
            return None
        raise bad_request("message to be replied not found")

    def _record_sent(self, message: SentMessage) -> JsonDict:
        self._sent.append(message)
        self._sent_by_chat.setdefault(message.chat_id, []).append(message)
        self._bot_messages[(message.chat_id, message.message_id)] = message
        return self._bot_message_object(message)

    async def _send_message(self, params: Params) -> JsonDict:
        chat_id = self._target_chat(params)
        raw, text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        markup = self._checked_markup(params)
        reply_to = self._reply_target(chat_id, params)
        message = SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=int(time.time()),
            kind="text",
            text=text,
            raw_text=raw,
            entities=entities,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._record_sent(message)

    def _message_to_edit(self, params: Params) -> SentMessage:
        if params.raw("inline_message_id"):
            raise bad_request("FakeBotApi does not support inline messages")
        chat_id = self._target_chat(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        message = self._bot_messages.get((chat_id, message_id or 0))
        if message is None or message.deleted:
            if (chat_id, message_id) in self._user_messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return message

    def _record_edit(self, message: SentMessage, new_text: str) -> JsonDict:
        message.edits.append(new_text)
        message.edit_times.append(time.monotonic())
        message.edit_date = int(time.time())
        return self._bot_message_object(message)

    async def _edit_message_text(self, params: Params) -> JsonDict:
        message = self._message_to_edit(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw, text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        # Leaving reply_markup out removes the inline keyboard, as in Telegram.
        markup = inline_only(self._checked_markup(params))
        if (text, entities, markup) == (
            message.text,
            message.entities,
            inline_only(message.reply_markup),
        ):
            raise bad_request(NOT_MODIFIED)
        message.text, message.raw_text, message.entities = text, raw, entities
        message.parse_mode = params.text("parse_mode")
        message.reply_markup = markup
        return self._record_edit(message, text)

    async def _edit_message_caption(self, params: Params) -> JsonDict:
        message = self._message_to_edit(params)
        if message.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        _, caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        markup = inline_only(self._checked_markup(params))
        if (caption or None, entities, markup) == (
            message.caption,
            message.caption_entities,
            inline_only(message.reply_markup),
        ):
            raise bad_request(NOT_MODIFIED)
        message.caption, message.caption_entities = caption or None, entities
        message.reply_markup = markup
        return self._record_edit(message, caption)

    async def _edit_message_reply_markup(self, params: Params) -> JsonDict:
        message = self._message_to_edit(params)
        markup = inline_only(self._checked_markup(params))
        if markup == inline_only(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        return self._bot_message_object(message)

    def _delete(self, chat_id: int, message_id: int) -> bool:
        message = self._bot_messages.get((chat_id, message_id))
        if message is not None and not message.deleted:
            message.deleted = True
            return True
        key = (chat_id, message_id)
        if key in self._user_messages and key not in self._deleted_user_messages:
            # Bots may delete incoming messages in private chats too.
            self._deleted_user_messages.add(key)
            return True
        return False

    async def _delete_message(self, params: Params) -> bool:
        chat_id = self._target_chat(params)
        message_id = params.integer("message_id", missing="message identifier is not specified")
        if not self._delete(chat_id, message_id or 0):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: Params) -> bool:
        chat_id = self._target_chat(params)
        for message_id in params.array("message_ids") or []:
            self._delete(chat_id, int(message_id))  # Telegram skips missing ones silently.
        return True

    async def _send_chat_action(self, params: Params) -> bool:
        self._target_chat(params)
        if params.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True
