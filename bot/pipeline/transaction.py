"""One update's unit of work: decide, commit, then talk to Telegram.

The session middleware opens an `UpdateTransaction` per update and publishes it (with its
session) for the code aiogram calls on its own. Before every Bot API call made while the update
is handled, the request middleware (`bot.pipeline.telegram_calls`) calls `checkpoint()`: what
the update has changed so far is committed first, so no transaction — and no SQLite write lock —
is open while the bot waits on Telegram, the user is never shown a change that is not saved, and
a Telegram error afterwards cannot undo it. Work after the call runs in a new transaction,
committed by `finish()` once the handler returns.

Inbox bookkeeping: the update's inbox row is marked done in the first transaction that commits a
change (or, for an update that only read, at the end). So a crash before that commit leaves the
update to be handled again with nothing of it saved, and a crash after it never handles it twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from database.repositories import inbox as inbox_repo
from database.repositories.outbox import OUTBOX_ADDED
from database.session_context import current_session, has_written


@dataclass
class InboxEntry:
    """The inbox row being handled; `done` turns true once its mark is committed."""

    update_id: int
    done: bool = False


class UpdateTransaction:
    def __init__(
        self,
        session: AsyncSession,
        inbox: InboxEntry | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.inbox = inbox
        self.on_outbox = on_outbox
        self.active = False
        self.task: asyncio.Task[object] | None = None  # the task handling the update
        # Run after each commit: what must follow the database, never precede it (dialog
        # state kept in Redis, see bot.pipeline.fsm_after_commit).
        self.after_commit: list[Callable[[], Awaitable[None]]] = []
        # A change held for after the commit (dialog state in Redis) is a change of the update.
        self.holds_changes = False

    async def checkpoint(self) -> None:
        """Commit what the update has done so far (called before each Telegram call)."""
        if self.active and (self.session.in_transaction() or self.holds_changes):
            await self._commit(final=False)

    async def finish(self) -> None:
        """The handler returned: commit the rest and, at the latest now, mark the update done."""
        pending_mark = self.inbox is not None and not self.inbox.done
        if self.session.in_transaction() or self.holds_changes or pending_mark:
            await self._commit(final=True)

    async def _commit(self, *, final: bool) -> None:
        mark = self.inbox is not None and not self.inbox.done
        if mark and (final or self.holds_changes or has_written(self.session)):
            await inbox_repo.mark_done(self.session, self.inbox.update_id)
        else:
            mark = False
        await self.session.commit()
        self.holds_changes = False
        if mark:
            self.inbox.done = True
        for follow in self.after_commit:
            await follow()
        if self.on_outbox is not None and self.session.info.pop(OUTBOX_ADDED, False):
            self.on_outbox()

    @contextmanager
    def published(self) -> Iterator[None]:
        """While handling: the transaction and its session are the ambient ones."""
        self.active = True
        self.task = asyncio.current_task()
        txn_token = _current.set(self)
        session_token = current_session.set(self.session)
        try:
            yield
        finally:
            self.active = False
            current_session.reset(session_token)
            _current.reset(txn_token)


_current: ContextVar[UpdateTransaction | None] = ContextVar("update_transaction", default=None)


def current_transaction() -> UpdateTransaction | None:
    """The transaction of the update being handled by this very task, if any: a task a
    handler starts (a chat action that repeats, a report) inherits the context but must not
    commit the update's session under its feet."""
    txn = _current.get()
    if txn is None or not txn.active or txn.task is not asyncio.current_task():
        return None
    return txn


def detach_from_update() -> None:
    """For a task started by a handler that outlives it (a report being built): it must not
    commit, or join, the update's session; Telegram errors reach it unchanged."""
    _current.set(None)
    current_session.set(None)
