"""Archiving and auto-close: the set-based queries of the daily archive job.

Never commits and never deletes: the caller owns the transaction. Plain Core statements that
render the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestStatus
from database.models import Request


async def done_before(session: AsyncSession, cutoff: datetime) -> list[int]:
    """Ids of requests still `done` (issued / resolved) whose `done_at` is before `cutoff`,
    oldest id first. `done` is an open status, so the partial index on open requests serves
    this read whatever the size of the archive."""
    result = await session.execute(
        select(Request.id)
        .where(Request.status == RequestStatus.DONE, Request.done_at < cutoff)
        .order_by(Request.id)
    )
    return list(result.scalars())


async def archive_closed_before(
    session: AsyncSession, status: RequestStatus, cutoff: datetime, now: datetime
) -> int:
    """Flag every not yet archived request in `status` whose `closed_at` is before `cutoff`
    as archived at `now`, in one UPDATE; returns how many rows it flagged.

    Rows without `closed_at` never match (NULL compares as unknown), rows already archived
    keep their `archived_at`.
    """
    result = await session.execute(
        update(Request)
        .where(
            Request.status == status,
            Request.archived.is_(False),
            Request.closed_at < cutoff,
        )
        .values(archived=True, archived_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
