"""Inbox of received Telegram updates: store, resume, finish, retry, park.

Never commits: the caller owns the transaction. Intake stores each batch in one short
transaction (`store`, idempotent on `update_id`: a batch Telegram delivers twice is stored
once); a worker marks its row `done` inside the transaction of the update's own changes.

Status flow: pending → done | parked. A pending row with attempts > 0 failed before and waits
for its retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import InboxStatus
from database.models import InboxUpdate, utcnow

MAX_ERROR_LENGTH = 2000


@dataclass
class InboxItem:
    """What a worker needs of one stored update (`attempts` counts up as it fails)."""

    update_id: int
    chat_key: int
    payload: str
    attempts: int = 0


async def store(session: AsyncSession, items: Sequence[InboxItem]) -> set[int]:
    """Insert the updates that are not stored yet; returns the ids actually inserted (an update
    Telegram delivers again, stored or handled before, is ignored)."""
    if not items:
        return set()
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {
            "update_id": item.update_id,
            "chat_key": item.chat_key,
            "payload": item.payload,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "last_error": "",
            "received_at": now,
        }
        for item in items
    ]
    stmt = (
        insert(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboxUpdate.update_id)
    )
    return set((await session.execute(stmt)).scalars())


async def pending(session: AsyncSession) -> list[InboxItem]:
    """Every unfinished update, oldest first (start-up resumes them)."""
    result = await session.execute(
        select(
            InboxUpdate.update_id,
            InboxUpdate.chat_key,
            InboxUpdate.payload,
            InboxUpdate.attempts,
        )
        .where(InboxUpdate.status == InboxStatus.PENDING)
        .order_by(InboxUpdate.update_id)
    )
    return [InboxItem(*row) for row in result.all()]


async def mark_done(session: AsyncSession, update_id: int) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(status=InboxStatus.DONE, finished_at=utcnow())
    )


async def record_failure(session: AsyncSession, update_id: int, attempts: int, error: str) -> None:
    """The update failed once more; it stays pending for the next attempt."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(attempts=attempts, last_error=error[:MAX_ERROR_LENGTH])
    )


async def park(session: AsyncSession, update_id: int, attempts: int, error: str) -> None:
    """Give up on the update: kept with its error, never handled again by itself."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(
            status=InboxStatus.PARKED,
            attempts=attempts,
            last_error=error[:MAX_ERROR_LENGTH],
            finished_at=utcnow(),
        )
    )


async def count_parked(session: AsyncSession, since: datetime | None = None) -> int:
    stmt = select(func.count()).where(InboxUpdate.status == InboxStatus.PARKED)
    if since is not None:
        stmt = stmt.where(InboxUpdate.finished_at >= since)
    return (await session.execute(stmt)).scalar_one()


async def purge_done(session: AsyncSession, before: datetime) -> int:
    """Forget handled updates finished before `before` (parked ones are kept)."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.status == InboxStatus.DONE, InboxUpdate.finished_at < before
        )
    )
    return result.rowcount or 0
