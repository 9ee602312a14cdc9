"""Invite tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Invite


async def add(session: AsyncSession, invite: Invite) -> Invite:
    session.add(invite)
    await session.flush()
    return invite


async def by_token(session: AsyncSession, token: str) -> Invite | None:
    result = await session.execute(select(Invite).where(Invite.token == token))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, invite_id: int, user_id: int, at: datetime) -> bool:
    """Mark the invite used by this user; False when someone used it first (single use)."""
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_by_id.is_(None))
        .values(used_by_id=user_id, used_at=at)
    )
    return result.rowcount == 1
