"""The HTTP layer to the Bot API, with the token's secret removed from what the bot sends.

Message text, captions, button labels and every other parameter pass through
:func:`bot.settings.redact.redact` just before they are encoded, so no message to a user or an
admin can carry the token, whatever produced its text (an exception message quoting a
URL, a training log, a seed someone pasted). Only the parameters are touched: the URL
must keep the token, it is how Telegram knows the bot. Files (documents, photos) are
sent as they are. Every call is counted for the metrics, by method and result.
"""

from __future__ import annotations

import re
from typing import Any, cast

from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot import metrics
from bot.settings.redact import redact
from bot.telegram.http_client import AiohttpRequest, NeverLeft
from bot.telegram.inbox import REPLY_MARK

# Methods that put a message in a chat (not sendChatAction: "typing…" is no answer).
_SENDS_MESSAGE = re.compile(r"send(?!ChatAction)\w+|copyMessages?|forwardMessages?")


class _RedactedData:
    """The two views of a RequestData that the request encodes, with parameters redacted."""

    def __init__(self, data: RequestData) -> None:
        self.multipart_data = data.multipart_data
        self.json_parameters = {k: redact(v) for k, v in data.json_parameters.items()}
        self.contains_files = data.contains_files

    def __bool__(self) -> bool:
        return True


class RedactingRequest(AiohttpRequest):
    """:class:`AiohttpRequest` whose request parameters never contain the token's secret."""

    __slots__ = ()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        data: Any = None if request_data is None else _RedactedData(request_data)
        # Counted by method and result; the method is the URL's last part (the token
        # before it never reaches a label).
        calls = metrics.BOT_API_CALLS
        endpoint = metrics.method_label(url.rsplit("/", 1)[-1])
        # A message answering an inbox update: its mark is committed before it leaves,
        # after any pacing, so the window in which a kill loses it stays in-process.
        mark = REPLY_MARK.get() if _SENDS_MESSAGE.fullmatch(endpoint) else None
        if mark is not None:
            await mark.before_send()
        try:
            status, payload = await super().do_request(
                url,
                method,
                cast(RequestData | None, data),
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception as exc:
            calls.labels(endpoint, metrics.result_label(None)).inc()
            if mark is not None:
                await mark.after_send(refused=isinstance(exc.__cause__, NeverLeft))
            raise
        calls.labels(endpoint, metrics.result_label(status)).inc()
        if mark is not None:  # 4xx: Telegram refused it; 5xx may hide a delivery
            await mark.after_send(refused=400 <= status < 500)
        return status, payload
