"""Audit rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import AuditLog


async def add(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """One audit row in the caller's transaction: who did what to which object."""
    session.add(
        AuditLog(
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )
    )


async def exists(session: AsyncSession, *, action: str, object_type: str, object_id: int) -> bool:
    """Whether this action was recorded on this object."""
    found = await session.scalar(
        select(AuditLog.id)
        .where(
            AuditLog.object_type == object_type,
            AuditLog.object_id == object_id,
            AuditLog.action == action,
        )
        .limit(1)
    )
    return found is not None


async def last_object_id(session: AsyncSession, *, action: str, object_type: str) -> int | None:
    """The highest object id this action was recorded on (e.g. the latest week reported)."""
    return await session.scalar(
        select(func.max(AuditLog.object_id)).where(
            AuditLog.object_type == object_type, AuditLog.action == action
        )
    )
