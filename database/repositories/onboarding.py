"""Queries of bulk onboarding: which Telegram IDs and usernames already have a user row, what
the live invites are for, and adding many new rows in one flush (the ORM batches the inserts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Base, Invite, User

_CHUNK = 1000  # values per IN (...) list, well under both engines' parameter limits


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


async def taken_usernames(session: AsyncSession, usernames: Iterable[str]) -> set[str]:
    """The usernames (as stored) of the user rows, of any status, holding one of these
    usernames in any case (usernames are ASCII: the engines lower-case them alike)."""
    wanted = sorted({u.lower() for u in usernames})
    taken: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        result = await session.execute(
            select(User.username).where(
                func.lower(User.username).in_(wanted[start : start + _CHUNK])
            )
        )
        taken.update(result.scalars())
    return taken


async def live_invitees(session: AsyncSession, now: datetime) -> list[Row]:
    """(username, email, full_name, branch_id) of every invite not used, revoked or expired
    at `now` that names whom it is for; one query."""
    result = await session.execute(
        select(Invite.username, Invite.email, Invite.full_name, Invite.branch_id).where(
            Invite.used_by_id.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
            or_(
                Invite.username.is_not(None),
                Invite.email.is_not(None),
                Invite.full_name.is_not(None),
            ),
        )
    )
    return list(result.all())


async def add_all(session: AsyncSession, rows: Iterable[Base]) -> None:
    session.add_all(list(rows))
    await session.flush()
