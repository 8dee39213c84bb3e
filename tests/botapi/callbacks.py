"""The fake Bot API server's methods for the bot's command menu and its answers to queries.

setMyCommands, getMyCommands and deleteMyCommands per scope and language, and the
answers to callback queries (a button press) and inline queries; each query can be
answered once, and a later answer fails as an expired one does.
"""

from __future__ import annotations

import re

from .objects import JsonDict, canonical_json, utf16_len
from .params import Params
from .records import MAX_MESSAGE_LENGTH, InlineAnswer, bad_request
from .state import ApiState

QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
MAX_INLINE_RESULTS = 50


class CallbackMethods(ApiState):
    """Bot commands, answerCallbackQuery and answerInlineQuery."""

    def _commands_key(self, params: Params) -> tuple[str, str]:
        scope = params.mapping("scope") or {"type": "default"}
        return canonical_json(scope), params.text("language_code") or ""

    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.array("commands")
        if commands is None:
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse commands JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.my_commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.my_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: Params) -> list[JsonDict]:
        return list(self.my_commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: Params) -> bool:
        self.my_commands.pop(self._commands_key(params), None)
        return True

    async def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        # Each query can be answered once; later answers fail like expired ones.
        if query_id not in self.callback_answers or self.callback_answers[query_id] is not None:
            raise bad_request(QUERY_INVALID)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        }
        return True

    async def _answer_inline_query(self, params: Params) -> bool:
        query_id = params.text("inline_query_id") or ""
        if query_id not in self.inline_answers or self.inline_answers[query_id] is not None:
            raise bad_request(QUERY_INVALID)
        results = params.array("results")
        if results is None:
            raise bad_request("results must be an array")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [str(r.get("id", "")) for r in results]
        if any(not 1 <= len(i.encode()) <= 64 for i in ids) or len(set(ids)) != len(ids):
            raise bad_request("RESULT_ID_INVALID")
        for result in results:
            if result.get("type") == "article":
                text = (result.get("input_message_content") or {}).get("message_text") or ""
                if not result.get("title") or not text.strip():
                    raise bad_request(
                        "ARTICLE_TITLE_EMPTY" if not result.get("title") else "MESSAGE_EMPTY"
                    )
                if utf16_len(text) > MAX_MESSAGE_LENGTH:
                    raise bad_request("MESSAGE_TOO_LONG")
        self.inline_answers[query_id] = InlineAnswer(
            results=list(results),
            cache_time=params.integer("cache_time"),
            is_personal=params.flag("is_personal"),
            button=params.mapping("button"),
            next_offset=params.text("next_offset"),
        )
        self._notify()
        return True
