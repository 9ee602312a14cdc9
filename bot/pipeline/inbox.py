"""Stored updates to handlers: accept a batch, resume after a restart, retry, park.

`accept(updates)` stores a batch in the inbox in one short transaction and hands the newly
stored ones to the workers; intake (polling or webhook) confirms the batch to Telegram only
after that. Each update is then fed to the dispatcher by a worker, one at a time and in order
per user (else per chat), many users at once.

An update whose handling raises before any of its changes was committed is tried again with
a growing pause (the user's later updates wait behind it, so their order holds), up to
`max_attempts` attempts; then it is parked: kept in the inbox with its error, logged, counted
for the owners, and the user is told in one line that it could not be handled. An update
whose changes are committed is never handled again: a failure after that point (Telegram
refusing the reply) is logged and the update counts as done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable, Sequence

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.enums import ChatType
from aiogram.types import Update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.pipeline.transaction import InboxEntry
from bot.pipeline.workers import KeyedWorkers
from database.repositories import inbox as inbox_repo
from database.repositories.inbox import InboxItem
from services import notifications

logger = logging.getLogger(__name__)

STORE_TRIES = 5
PARKED_TEMPLATE = "update.failed"


def chat_key(update: Update) -> int:
    """Whose updates must be handled one after another: the user's, else the chat's."""
    context = UserContextMiddleware.resolve_event_context(update)
    if context.user is not None:
        return context.user.id
    if context.chat is not None:
        return context.chat.id
    return 0


def inbox_item(update: Update) -> InboxItem:
    return InboxItem(update.update_id, chat_key(update), stored_payload(update))


def stored_payload(update: Update) -> str:
    """The update as JSON for the inbox. Of an update from a group, supergroup or channel only
    message or button press, only what the private-chats gate answers from is kept
    (`bot.middlewares.private_chats`): ids, the chat, the sender's id and language, and the
    command word; no text, caption, media, names or button data is written to the database
    (the bot asks Telegram for messages and button presses only)."""
    context = UserContextMiddleware.resolve_event_context(update)
    private = context.chat is None or context.chat.type == ChatType.PRIVATE
    if private or (update.message is None and update.callback_query is None):
        return update.model_dump_json(exclude_unset=True, exclude_none=True, by_alias=True)
    sender = context.user
    person = (
        {
            "id": sender.id,
            "is_bot": sender.is_bot,
            "first_name": "",
            "language_code": sender.language_code,
        }
        if sender is not None
        else None
    )
    chat = {"id": context.chat.id, "type": context.chat.type}
    kept: dict = {"update_id": update.update_id}
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        kept["callback_query"] = {
            "id": query.id,
            "from": person,
            "chat_instance": query.chat_instance,
            "message": {"message_id": message.message_id, "date": 0, "chat": chat}
            if message is not None
            else None,
        }
    elif update.message is not None:
        message = update.message
        word = (message.text or "").split(maxsplit=1)[0:1]
        command = word[0] if word and word[0].startswith("/") else None
        kept["message"] = {
            "message_id": message.message_id,
            "date": 0,
            "chat": chat,
            "from": person,
            "text": command,
        }
    return json.dumps(_without_none(kept), ensure_ascii=False)


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


class InboxProcessor:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        workers: int,
        max_attempts: int,
        retry_pause: float = 1.0,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.max_attempts = max_attempts
        self.retry_pause = retry_pause
        self.on_outbox = on_outbox
        self.pool: KeyedWorkers[InboxItem] = KeyedWorkers(self._handle, workers)

    async def accept(self, updates: Sequence[Update]) -> None:
        """Store the batch durably (raises if the database refuses it every time), then queue
        the updates that were not stored before."""
        items = [inbox_item(update) for update in updates]
        for attempt in range(1, STORE_TRIES + 1):
            try:
                async with self.sessionmaker() as session:
                    new_ids = await inbox_repo.store(session, items)
                    await session.commit()
                break
            except SQLAlchemyError:
                if attempt == STORE_TRIES:
                    raise
                logger.warning("Storing %d update(s) failed, trying again", len(items))
                await asyncio.sleep(0.2 * attempt)
        for item in items:
            if item.update_id in new_ids:
                self.pool.submit(item.chat_key, item)

    async def resume(self) -> int:
        """Queue the updates left unfinished by the last run; returns how many."""
        async with self.sessionmaker() as session:
            items = await inbox_repo.pending(session)
        for item in items:
            self.pool.submit(item.chat_key, item)
        if items:
            logger.info("Resuming %d update(s) left from the last run", len(items))
        return len(items)

    async def stop(self, timeout: float) -> None:
        await self.pool.stop(timeout)

    async def idle(self) -> None:
        await self.pool.idle()

    async def _handle(self, item: InboxItem) -> float | None:
        entry = InboxEntry(item.update_id)
        try:
            update = Update.model_validate_json(item.payload, context={"bot": self.bot})
            await self.dp.feed_update(self.bot, update, inbox_entry=entry)
        except Exception as exc:
            return await self._failed(item, entry, exc)
        if not entry.done:  # nothing ran in a transaction of ours (e.g. an update type we skip)
            await self._finish(item)
        return None

    async def _finish(self, item: InboxItem) -> None:
        async with self.sessionmaker() as session:
            await inbox_repo.mark_done(session, item.update_id)
            await session.commit()

    async def _failed(self, item: InboxItem, entry: InboxEntry, exc: Exception) -> float | None:
        if entry.done:
            logger.warning(
                "Update %s: its changes are saved, what followed failed: %s: %s",
                item.update_id,
                type(exc).__name__,
                exc,
            )
            return None
        item.attempts += 1
        error = "".join(traceback.format_exception(exc))
        if item.attempts < self.max_attempts:
            pause = self.retry_pause * 2 ** (item.attempts - 1)
            logger.warning(
                "Update %s failed (attempt %d of %d, again in %.1f s): %s: %s",
                item.update_id,
                item.attempts,
                self.max_attempts,
                pause,
                type(exc).__name__,
                exc,
            )
            async with self.sessionmaker() as session:
                await inbox_repo.record_failure(session, item.update_id, item.attempts, error)
                await session.commit()
            return pause
        logger.error(
            "Update %s parked after %d attempts", item.update_id, item.attempts, exc_info=exc
        )
        async with self.sessionmaker() as session:
            await inbox_repo.park(session, item.update_id, item.attempts, error)
            if item.chat_key > 0:
                await notifications.notify(session, item.chat_key, PARKED_TEMPLATE)
            await session.commit()
        if self.on_outbox is not None:
            self.on_outbox()
        return None
