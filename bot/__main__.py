"""`python -m bot`: long polling until SIGINT / SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from bot.app import create_bot, create_dispatcher
from bot.commands import register_menus
from bot.i18n import create_i18n
from bot.notifications import create_renderers
from bot.outbox.sender import OutboxSender
from cron.context import JobContext
from cron.scheduler import create_scheduler
from database.engine import create_engine, create_sessionmaker
from database.migrate import upgrade_to_head
from services import registration, sla, users
from utils.logging import setup_logging
from utils.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("bot")


async def run(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    await upgrade_to_head(engine)
    sla.configure(settings)  # deadlines of new requests follow the configured working hours
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    sender = OutboxSender(
        bot,
        sessionmaker,
        create_renderers(i18n, settings.tz),
        rate_per_second=settings.outbox_rate_per_second,
        per_chat_interval=settings.outbox_per_chat_interval,
        max_attempts=settings.outbox_max_attempts,
    )
    dp = create_dispatcher(settings, sessionmaker, i18n, on_outbox=sender.wake)
    sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
    scheduler = create_scheduler(JobContext(settings, sessionmaker, on_outbox=sender.wake))
    scheduler.start()
    try:
        me = await bot.get_me()
        logger.info("Bot @%s (id %s) via %s", me.username, me.id, settings.telegram_api_url)
        # Polling needs no webhook; updates that arrived while we were down are kept.
        await bot.delete_webhook(drop_pending_updates=False)
        async with sessionmaker() as session:
            await registration.sync_owners(session, settings.admin_ids)
            await session.commit()
            privileged = await users.with_own_menu(session)
        await register_menus(bot, i18n, privileged, settings.admin_ids)
        # handle_as_tasks=False: an update is fully handled (and committed) before the next
        # getUpdates call confirms it, so a crash never loses an update that was confirmed.
        await dp.start_polling(
            bot,
            handle_as_tasks=False,
            polling_timeout=settings.polling_timeout,
            allowed_updates=dp.resolve_used_update_types(),
        )
    finally:
        scheduler.shutdown(wait=False)
        sender.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await sender_task
        await bot.session.close()
        await engine.dispose()
        logger.info("Stopped")


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
