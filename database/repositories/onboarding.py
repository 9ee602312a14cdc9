"""Queries of bulk onboarding: which Telegram IDs already have a user row, and adding many new
rows in one flush (the ORM batches the inserts)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Base, User

_CHUNK = 1000  # ids per IN (...) list, well under both engines' parameter limits


async def taken_telegram_ids(session: AsyncSession, telegram_ids: Iterable[int]) -> set[int]:
    """Those of the Telegram IDs that some user row (of any status) has."""
    wanted = sorted(set(telegram_ids))
    taken: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        result = await session.execute(
            select(User.telegram_id).where(User.telegram_id.in_(wanted[start : start + _CHUNK]))
        )
        taken.update(result.scalars())
    return taken


async def add_all(session: AsyncSession, rows: Iterable[Base]) -> None:
    session.add_all(list(rows))
    await session.flush()
