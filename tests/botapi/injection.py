"""Faults the fake Bot API server injects where Telegram would have them.

Per-method errors (:meth:`FaultInjection.inject_error`: 401, 404, 429 with
``retry_after``, 5xx; the method ``download`` for the file server), slow or hanging
answers (:meth:`FaultInjection.inject_delay`) and Telegram's flood control
(:meth:`FaultInjection.enforce_flood_limits`). The HTTP layer (server.py) serves the
delays, then the errors, then the flood check, before the method itself runs.
"""

from __future__ import annotations

from .records import ApiCall, ApiError
from .state import ApiState


class FaultInjection(ApiState):
    """Errors, delays and flood control, as a bad day at Telegram serves them."""

    def inject_error(
        self,
        method: str,
        description: str,
        error_code: int = 400,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Makes the next ``times`` calls of ``method`` fail, e.g. with flood control::

        api.inject_error("sendMessage", "Too Many Requests: retry after 1", 429, retry_after=1)
        """
        error = ApiError(error_code, description, retry_after)
        self._injected.setdefault(method.lower(), []).extend([error] * times)

    def inject_delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Makes the next ``times`` calls of ``method`` answer only after ``seconds`` (a slow
        or hanging Telegram: the bot's read timeout may expire first). Delays run before any
        injected error, so a slow 500 is ``inject_delay`` plus ``inject_error``."""
        self._delays.setdefault(method.lower(), []).extend([seconds] * times)

    FLOOD_METHODS = frozenset(
        {"sendmessage", "senddocument", "sendphoto", "editmessagetext", "editmessagecaption",
         "editmessagereplymarkup"}
    )  # fmt: skip

    def enforce_flood_limits(
        self,
        private: tuple[int, float] = (3, 3.0),
        group: tuple[int, float] = (20, 60.0),
        overall: tuple[int, float] = (30, 1.0),
    ) -> None:
        """Answer 429 (retry_after 1) to a message that would make a chat (or the bot as a
        whole) exceed ``(messages, seconds)`` in any sliding window of arrival times, as
        Telegram's flood control does; refused calls are listed in ``flood_refusals``."""
        self._flood_limits = {"private": private, "group": group, "overall": overall}

    def _check_flood(self, call: ApiCall) -> None:
        limits = self._flood_limits
        if limits is None or call.method.lower() not in self.FLOOD_METHODS:
            return
        raw = call.params.get("chat_id")
        if raw is None:
            return
        try:
            chat: int | str = int(raw)
        except (TypeError, ValueError):
            chat = str(raw)
        kind = "private" if isinstance(chat, int) and chat > 0 else "group"
        scopes: list[tuple[int | str, tuple[int, float]]] = [
            (chat, limits[kind]),
            ("*overall*", limits["overall"]),
        ]
        for scope, (count, seconds) in scopes:
            recent = [t for t in self._flood_sent.get(scope, []) if call.time - t < seconds]
            if len(recent) >= count:
                self.flood_refusals.append(call)
                raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        for scope, _ in scopes:
            self._flood_sent.setdefault(scope, []).append(call.time)

    def injected_left(self, method: str) -> int:
        """How many injected errors for ``method`` have not been served yet."""
        return len(self._injected.get(method.lower(), []))
