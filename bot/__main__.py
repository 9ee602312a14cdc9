"""`python -m bot`: long polling (or, with WEBHOOK_URL, a webhook) until SIGINT / SIGTERM.

Start: migrations, owners, the orders' category and a warehouse when missing (an empty
database), command menus, then the updates left unfinished by the last run, then the intake:
polling, or the webhook server and setWebhook. Stop (SIGINT / SIGTERM): the
intake ends at once (what it received is stored; the webhook stays set, so Telegram keeps what
arrives until the next start), the updates being handled get `SHUTDOWN_TIMEOUT` seconds to
finish, and the rest wait in the inbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from aiohttp import web

from bot.app import create_bot, create_dispatcher
from bot.commands import register_menus
from bot.i18n import create_i18n
from bot.notifications import create_renderers
from bot.outbox.sender import OutboxSender
from bot.pipeline.inbox import InboxProcessor
from bot.pipeline.polling import poll
from bot.pipeline.webhook import start_webhook, stop_webhook
from cron.context import JobContext
from cron.scheduler import create_scheduler, stop_scheduler
from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from services import calendar_admin, org, registration, sla, users
from utils.logging import setup_logging
from utils.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("bot")


async def run(settings: Settings) -> None:
    stop = _stop_on_signals()  # a signal during start-up stops the bot once it is up
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    await upgrade_to_head(engine)
    sla.configure(settings)  # deadlines of new requests follow the configured working hours
    async with sessionmaker() as session:
        await calendar_admin.apply(session, settings)  # and the calendar set in /calendar
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    sender = OutboxSender(
        bot,
        sessionmaker,
        create_renderers(i18n, settings.tz),
        rate_per_second=settings.outbox_rate_per_second,
        per_chat_interval=settings.outbox_per_chat_interval,
        give_up_hours=settings.outbox_give_up_hours,
        owner_ids=settings.admin_ids,
    )
    dp = create_dispatcher(settings, sessionmaker, i18n, on_outbox=sender.wake)
    sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
    jobs = JobContext(settings, sessionmaker, on_outbox=sender.wake)
    scheduler = create_scheduler(jobs)
    scheduler.start()
    try:
        me = await bot.get_me()
        logger.info("Bot @%s (id %s) via %s", me.username, me.id, settings.telegram_api_url)
        if not settings.webhook_url:
            # Polling needs no webhook; updates that arrived while we were down are kept.
            await bot.delete_webhook(drop_pending_updates=False)
        async with sessionmaker() as session:
            await registration.sync_owners(session, settings.admin_ids)
            for made in await org.ensure_base(session):
                logger.info("Created the %s every organisation has", made)
            await session.commit()
            privileged = await users.with_own_menu(session)
        await register_menus(bot, i18n, privileged, settings.admin_ids)
        processor = InboxProcessor(
            dp,
            bot,
            sessionmaker,
            workers=settings.update_workers,
            max_attempts=settings.update_max_attempts,
            on_outbox=sender.wake,
        )
        await dp.emit_startup(bot=bot)
        await processor.resume()
        allowed_updates = dp.resolve_used_update_types()
        polling: asyncio.Task[None] | None = None
        webhook: web.AppRunner | None = None
        if settings.webhook_url and settings.webhook_secret:  # the secret comes with the URL
            secret = settings.webhook_secret.get_secret_value()
            webhook = await start_webhook(
                processor,
                host=settings.webhook_host,
                port=settings.webhook_port,
                path=settings.webhook_path,
                secret=secret,
            )
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=secret,
                allowed_updates=allowed_updates,
                drop_pending_updates=False,
            )
            logger.info(
                "Webhook %s with %d worker(s)", settings.webhook_url, settings.update_workers
            )
        else:
            polling = asyncio.create_task(
                poll(
                    bot,
                    processor,
                    timeout=settings.polling_timeout,
                    allowed_updates=allowed_updates,
                ),
                name="polling",
            )
            logger.info("Polling with %d worker(s)", settings.update_workers)
        await stop.wait()
        logger.info("Stopping: %d update(s) in progress", processor.pool.busy)
        if webhook is not None:
            await stop_webhook(webhook)  # no new updates; Telegram keeps them until next start
        if polling is not None:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
        await processor.stop(settings.shutdown_timeout)
        await dp.emit_shutdown(bot=bot)
    finally:
        await stop_scheduler(scheduler, jobs, settings.shutdown_timeout)
        sender.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await sender_task
        await bot.session.close()
        await engine.dispose()
        logger.info("Stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    setup_logging(settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
