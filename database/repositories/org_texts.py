"""Texts the organisation sets, by key: read, and write (insert or replace) on both engines.

Never commits: the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import OrgText, utcnow


async def get(session: AsyncSession, key: str) -> OrgText | None:
    """The text as stored now (not a stale copy from this session)."""
    return await session.scalar(
        select(OrgText).where(OrgText.key == key).execution_options(populate_existing=True)
    )


async def upsert(
    session: AsyncSession, key: str, *, ru: str, en: str | None, updated_by_id: int | None
) -> None:
    """Store the text under `key`, replacing the one there (one statement, race-free)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(OrgText).values(
        key=key, text_ru=ru, text_en=en, updated_at=utcnow(), updated_by_id=updated_by_id
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "text_ru": stmt.excluded.text_ru,
            "text_en": stmt.excluded.text_en,
            "updated_at": stmt.excluded.updated_at,
            "updated_by_id": stmt.excluded.updated_by_id,
        },
    )
    await session.execute(stmt)
