"""One database session — one transaction — per update, committed after the handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from database.session_context import current_session


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's session and commits it once the handler is done.

    It also holds the per-user event isolation lock around the whole transaction, commit
    included: a second tap by the same user waits until the first one's changes are committed,
    so it sees them (aiogram's own FSM middleware would release the lock before our commit).
    The FSM storage and the repositories join this session through `current_session`.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        fsm: FSMContextMiddleware,
        isolation: BaseEventIsolation,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.fsm = fsm
        self.isolation = isolation
        self.on_outbox = on_outbox

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.fsm.resolve_event_context(data["bot"], data)
        lock = self.isolation.lock(context.key) if context else nullcontext()
        async with lock, self.sessionmaker() as session:
            token = current_session.set(session)
            try:
                data["session"] = session
                result = await handler(event, data)
                await session.commit()
            finally:
                current_session.reset(token)
        if self.on_outbox is not None and session.info.pop("outbox_added", False):
            self.on_outbox()
        return result
