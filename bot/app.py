"""Factories for the bot and the dispatcher: the seam that `python -m bot` and tests share.

Nothing is built at import time; every call returns fresh objects (a Router attaches once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm_storage import DatabaseStorage
from bot.middlewares.actor import ActorI18nMiddleware, ActorMiddleware, DeactivatedGateMiddleware
from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.errors import DomainErrorMiddleware
from bot.middlewares.flood import FloodLimit
from bot.middlewares.private_chats import PrivateChatsOnly
from bot.pipeline import telegram_calls
from bot.pipeline.fsm_after_commit import CommitBoundStorage
from bot.report_runner import ReportRunner
from bot.routers import build_routers
from services import drafts
from utils.settings import Settings


def create_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    telegram_calls.install(bot)  # commit before each call made while handling an update
    return bot


def create_fsm_storage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Dialog state in the database (inside the update's transaction), or in Redis if set
    (written right after each of the update's database commits)."""
    if settings.redis_url:
        keys = DefaultKeyBuilder(prefix=settings.redis_prefix, with_bot_id=True, with_destiny=True)
        # A dialog, and a draft (services.drafts), nobody touched for DRAFT_DAYS expires: the
        # archive job's purge of old drafts reaches only the database storage.
        idle = timedelta(days=drafts.DRAFT_DAYS)
        redis = RedisStorage.from_url(
            settings.redis_url, key_builder=keys, state_ttl=idle, data_ttl=idle
        )
        # Per-user order is kept by the update workers; a Redis lock would outlive a crash
        # (held for its 60 s timeout) and hold up that user's first update after the restart.
        return CommitBoundStorage(redis), SimpleEventIsolation()
    return DatabaseStorage(sessionmaker), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    on_outbox: Callable[[], None] | None = None,
) -> Dispatcher:
    """Middleware order, outermost first, per update:

    private chats only (anything else stops here, before any database work) →
    flood limit (a user over it is answered once, then ignored; no database work either) →
    session + per-user lock → FSM context (state read in that session) → acting user;
    then per event: language → deactivated gate → domain errors → handler.
    """
    storage, isolation = create_fsm_storage(settings, sessionmaker)
    dp = Dispatcher(
        storage=storage,
        disable_fsm=True,  # registered below, inside the session middleware
        settings=settings,
        owner_ids=settings.admin_ids,
        invite_ttl_days=settings.invite_ttl_days,
        tz=settings.tz,
        order_max_quantity=settings.order_max_quantity,
        max_open_requests=settings.max_open_requests,
        reapply_cooldown_hours=settings.reapply_cooldown_hours,
        sessionmaker=sessionmaker,  # for work that outlives its update (reports)
        report_runner=ReportRunner(),
    )
    dp.shutdown.register(dp["report_runner"].close)
    dp.update.outer_middleware(PrivateChatsOnly(i18n))
    dp.update.outer_middleware(
        FloodLimit(
            i18n,
            limit=settings.flood_limit,
            window=settings.flood_window,
            exempt=settings.admin_ids,
        )
    )
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker, dp.fsm, isolation, on_outbox))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(ActorMiddleware(settings.admin_ids))
    i18n_middleware = ActorI18nMiddleware(i18n)  # also puts `i18n` into handler data
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(i18n_middleware)
        observer.outer_middleware(DeactivatedGateMiddleware())
        observer.outer_middleware(DomainErrorMiddleware())
    dp.include_routers(*build_routers())
    return dp
