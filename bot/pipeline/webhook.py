"""Webhook intake: Telegram POSTs each update, the update is stored in the inbox, then answered.

Telegram delivers an update again until it gets a 2xx answer for it, so the answer is 200 only
once the update is stored: a crash (or a database that refuses it) before that gets the same
update again, and the inbox ignores an update_id it already has. Handling runs in the workers,
never in the request, so a slow handler never delays Telegram's next delivery.

    401  the X-Telegram-Bot-Api-Secret-Token header is missing or wrong (nothing stored)
    400  the body is not a JSON Update (nothing stored)
    500  storing failed: Telegram tries again
    200  stored
"""

from __future__ import annotations

import logging
import secrets

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.pipeline.inbox import InboxProcessor

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SHUTDOWN_TIMEOUT = 5.0  # seconds a request being stored gets to finish when the server stops


def create_app(processor: InboxProcessor, *, path: str, secret: str) -> web.Application:
    """The aiohttp application with one route: POST `path` → store the update in the inbox."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secrets.compare_digest(given, expected):
            logger.warning("Webhook request from %s refused: wrong secret token", request.remote)
            return web.Response(status=401, text="Unauthorized")
        try:
            update = Update.model_validate_json(await request.read())
        except ValidationError as exc:
            logger.warning(
                "Webhook request refused: not an update (%d error(s))", exc.error_count()
            )
            return web.Response(status=400, text="Bad Request: not an update")
        try:
            await processor.accept([update])
        except Exception as exc:  # the database away: Telegram delivers it again
            logger.error(
                "Storing update %s failed (%s: %s); Telegram will deliver it again",
                update.update_id,
                type(exc).__name__,
                exc,
            )
            return web.Response(status=500, text="Internal Server Error")
        return web.Response()

    app = web.Application()
    app.router.add_post(path, receive)
    return app


async def start_webhook(
    processor: InboxProcessor, *, host: str, port: int, path: str, secret: str
) -> web.AppRunner:
    """Listen on host:port (port 0 picks a free one, see `runner.addresses`) until
    `stop_webhook`."""
    runner = web.AppRunner(
        create_app(processor, path=path, secret=secret),
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    logger.info("Webhook intake listening on %s:%s%s", bound_host, bound_port, path)
    return runner


async def stop_webhook(runner: web.AppRunner) -> None:
    """Stop accepting updates: the port is closed at once, a request being stored finishes."""
    await runner.cleanup()
