"""Invite tokens."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Branch, Invite, User


async def add(session: AsyncSession, invite: Invite) -> Invite:
    session.add(invite)
    await session.flush()
    return invite


async def by_token(session: AsyncSession, token: str) -> Invite | None:
    result = await session.execute(select(Invite).where(Invite.token == token))
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, invite_id: int) -> Invite | None:
    return await session.get(Invite, invite_id)


async def claim(session: AsyncSession, invite_id: int, user_id: int, at: datetime) -> bool:
    """Mark the invite used by this user; False when someone used or revoked it first."""
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_by_id.is_(None), Invite.revoked_at.is_(None))
        .values(used_by_id=user_id, used_at=at)
    )
    return result.rowcount == 1


async def revoke(session: AsyncSession, invite_id: int, by_id: int | None, at: datetime) -> bool:
    """Revoke an unused, unrevoked invite; False when it was used or revoked first."""
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_by_id.is_(None), Invite.revoked_at.is_(None))
        .values(revoked_at=at, revoked_by_id=by_id)
    )
    return result.rowcount == 1


def _live(roles: Collection[str], now: datetime):
    return (
        Invite.used_by_id.is_(None),
        Invite.revoked_at.is_(None),
        Invite.expires_at > now,
        Invite.role.in_(list(roles)),
    )


async def count_live(session: AsyncSession, roles: Collection[str], now: datetime) -> int:
    """Invites of these roles not used, revoked or expired at `now`."""
    result = await session.execute(select(func.count(Invite.id)).where(*_live(roles, now)))
    return result.scalar_one()


async def live(
    session: AsyncSession, roles: Collection[str], now: datetime, *, offset: int, limit: int
) -> list[tuple[Invite, User | None, Branch | None]]:
    """A slice of the live invites of these roles, newest first, with maker and branch."""
    result = await session.execute(
        select(Invite, User, Branch)
        .outerjoin(User, User.id == Invite.created_by_id)
        .outerjoin(Branch, Branch.id == Invite.branch_id)
        .where(*_live(roles, now))
        .order_by(Invite.created_at.desc(), Invite.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(row[0], row[1], row[2]) for row in result.all()]
