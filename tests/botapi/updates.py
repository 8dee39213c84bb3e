"""The fake Bot API server's methods for the bot itself and for its updates.

getMe, and the two ways updates reach the bot: getUpdates (long polls that return as soon
as an update arrives, with Telegram's 409 conflicts for a second poller or an active
webhook) and the webhook (setWebhook, deleteWebhook, getWebhookInfo), to which pending
updates are POSTed and retried until the bot's server accepts them. Updates of types the
bot did not ask for in ``allowed_updates`` are dropped, as Telegram never produces them.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp

from .objects import JsonDict
from .params import Params
from .records import SECRET_HEADER, ApiError, WebhookConfig, WebhookDelivery, bad_request
from .state import ApiState, wait_event

CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# Telegram sends these update types only when allowed_updates asks for them explicitly.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def _update_type(update: JsonDict) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdateMethods(ApiState):
    """getMe, getUpdates and the webhook, with the delivery of updates to it."""

    async def _accept(self, params: Params) -> bool:
        return True

    async def _get_me(self, params: Params) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _set_allowed_updates(self, params: Params) -> list[str] | None:
        allowed = params.array("allowed_updates")
        if allowed is not None:
            # An empty list means "back to the default set", as in the Bot API.
            self._allowed_updates = frozenset(map(str, allowed)) or None
        return allowed

    def _deliverable(self) -> list[JsonDict]:
        allowed = self._allowed_updates

        def wanted(update: JsonDict) -> bool:
            kind = _update_type(update)
            return kind in allowed if allowed is not None else kind not in OPT_IN_UPDATE_TYPES

        # Telegram never produces updates of unwanted types, so they are dropped for good.
        self._pending = [update for update in self._pending if wanted(update)]
        return list(self._pending)

    async def _get_updates(self, params: Params) -> list[JsonDict]:
        if self.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        self._poll_generation += 1
        generation = self._poll_generation
        offset = params.integer("offset")
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params)
        if offset is not None and offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset is not None and offset < 0:
            self._pending = self._pending[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_OTHER_POLL)
            if self.webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
            batch = self._deliverable()[:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            await wait_event(changed, remaining)

    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        allowed = self._set_allowed_updates(params)
        if not url:
            self.webhook = None
            self._notify()
            return True
        if not url.startswith(("http://", "https://")):
            # Telegram insists on HTTPS; the fake accepts http:// for local test servers.
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if self.webhook is None or self.webhook.url != url:
            self._last_webhook_error = None
        self.webhook = WebhookConfig(
            url=url,
            secret_token=secret or None,
            max_connections=params.integer("max_connections") or 40,
            allowed_updates=[str(kind) for kind in allowed] if allowed is not None else None,
        )
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(
                self._deliver_to_webhook(), name="FakeBotApi webhook delivery"
            )
        self._notify()
        return True

    async def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        self._notify()
        return True

    async def _get_webhook_info(self, params: Params) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates:
                info["allowed_updates"] = self.webhook.allowed_updates
            if self._last_webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._last_webhook_error
        return info

    async def _deliver_to_webhook(self) -> None:
        """Sends pending updates to the webhook, retrying failures: one at a time and in
        order, or over ``webhook_concurrency`` connections at once, as
        Telegram does up to the webhook's ``max_connections``."""
        workers = max(1, min(self.webhook_concurrency, 100))
        await asyncio.gather(*(self._webhook_worker() for _ in range(workers)))

    async def _webhook_worker(self) -> None:
        failures = 0
        while not self._closing and self.webhook is not None and self._session is not None:
            changed = self._changed
            pending = [u for u in self._deliverable() if u["update_id"] not in self._in_flight]
            if not pending:
                await wait_event(changed, None)
                continue
            update, webhook = pending[0], self.webhook
            self._in_flight.add(update["update_id"])
            try:
                failed = await self._post_update(update, webhook)
            finally:
                self._in_flight.discard(update["update_id"])
            if not failed:
                failures = 0
                continue
            failures += 1
            # Telegram keeps retrying with growing pauses; these are short for tests' sake,
            # e.g. PTB sets the webhook before its server listens.
            await asyncio.sleep(min(0.05 * 2 ** (failures - 1), 1.0))

    async def _post_update(self, update: JsonDict, webhook: WebhookConfig) -> bool:
        """One delivery attempt; True when it failed (and is to be retried)."""
        if self._session is None:
            return True
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        status: int | None = None
        error: str | None = None
        try:
            async with self._session.post(
                webhook.url,
                data=json.dumps(update).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except Exception as exc:  # Any failure must be retried, not kill the delivery task.
            error = f"Connection failed: {exc!r}"
        self.webhook_deliveries.append(
            WebhookDelivery(update["update_id"], status, error, time.monotonic())
        )
        if error is None:
            self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
            self._notify()
            return False
        self._last_webhook_error = (int(time.time()), error)
        self._notify()
        return True
