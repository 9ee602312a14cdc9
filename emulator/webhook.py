"""Webhook delivery as Telegram does it: while the bot has a webhook set, each queued update is
POSTed to it as JSON with the X-Telegram-Bot-Api-Secret-Token header, one at a time and in
order; an update the bot does not answer with 2xx is tried again after a short pause (and the
failure shows in getWebhookInfo). Only local URLs (127.0.0.1, localhost) are ever posted to.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from emulator.models import Webhook, bad_request
from emulator.state import EmulatorState, now

logger = logging.getLogger("emulator")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
RETRY_PAUSE = 0.2  # seconds between two tries of an update the bot did not take
POST_TIMEOUT = aiohttp.ClientTimeout(total=10)


def local_webhook(url: str, secret_token: str | None, allowed_updates: Any) -> Webhook:
    """The webhook setWebhook asks for, or 400 as Telegram answers a webhook it refuses."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise bad_request(f"bad webhook: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: an HTTP or HTTPS URL must be provided for webhook")
    if host not in LOCAL_HOSTS:
        raise bad_request("bad webhook: the emulator posts only to 127.0.0.1 or localhost")
    if secret_token is not None and not SECRET_TOKEN.fullmatch(secret_token):
        raise bad_request("secret token contains unallowed characters")
    allowed = allowed_updates if isinstance(allowed_updates, list) else None
    return Webhook(url, secret_token, allowed)


class WebhookDelivery:
    """Runs while the emulator runs (`run` until cancelled); idle while no webhook is set."""

    def __init__(self, state: EmulatorState, retry_pause: float = RETRY_PAUSE) -> None:
        self.state = state
        self.retry_pause = retry_pause

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=POST_TIMEOUT) as http:
            while not self.state.closing:
                webhook = self.state.webhook
                queued = self.state.peek_updates(1) if webhook is not None else []
                if webhook is None or not queued:
                    await self.state.updates_signal.wait(None)
                    continue
                update = queued[0]
                if await self._post(http, webhook, update):
                    self.state.delivered(update["update_id"])
                else:
                    await asyncio.sleep(self.retry_pause)

    async def _post(
        self, http: aiohttp.ClientSession, webhook: Webhook, update: dict[str, Any]
    ) -> bool:
        headers = {SECRET_HEADER: webhook.secret_token} if webhook.secret_token else {}
        try:
            if urlsplit(webhook.url).hostname not in LOCAL_HOSTS:
                raise aiohttp.InvalidURL(webhook.url, "not 127.0.0.1 or localhost")
            async with http.post(
                webhook.url, json=update, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}: {exc}"
        if webhook.last_error_message != error:
            logger.info("Webhook delivery of update %s: %s", update["update_id"], error)
        webhook.last_error_date, webhook.last_error_message = now(), error
        return False
