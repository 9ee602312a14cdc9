"""One database session per update; its changes commit before each Telegram call and at the end."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.middlewares import Handler
from bot.pipeline.transaction import UpdateTransaction


class DbSessionMiddleware(BaseMiddleware):
    """Opens the update's session and its `UpdateTransaction` (see bot.pipeline.transaction).

    The handler never commits or rolls back: what it changed is committed before every Bot API
    call it makes and once it returns; an exception rolls back what is not committed yet. The
    update's inbox row (`inbox_entry` from the worker) is marked done with its first change.

    It also holds the per-user event isolation lock around the whole update, commits included:
    a second tap by the same user waits until the first one's changes are committed. Handlers
    get the session as `session` and pass it to services; the FSM storage, which aiogram calls
    without it, finds it through `database.session_context.current_session`.
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

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context = self.fsm.resolve_event_context(data["bot"], data)
        lock = self.isolation.lock(context.key) if context else nullcontext()
        async with lock, self.sessionmaker() as session:
            txn = UpdateTransaction(session, data.get("inbox_entry"), self.on_outbox)
            with txn.published():
                data["session"] = session
                result = await handler(event, data)
            await txn.finish()
        return result
