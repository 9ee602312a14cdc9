"""Small builders of database rows for tests (flushed, never committed)."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Branch, Category, User, utcnow

_ids = itertools.count(1)


async def branch(session: AsyncSession, name: str | None = None) -> Branch:
    row = Branch(name=name or f"Филиал {next(_ids)}", city="Москва")
    session.add(row)
    await session.flush()
    return row


async def category(session: AsyncSession, code: str, kind: str = "ticket") -> Category:
    row = Category(code=code, kind=kind, name_ru=code, name_en=code)
    session.add(row)
    await session.flush()
    return row


async def user(
    session: AsyncSession,
    telegram_id: int,
    *,
    role: Role = Role.USER,
    status: UserStatus = UserStatus.APPROVED,
    full_name: str = "Иванов Иван",
    username: str | None = None,
    branch_row: Branch | None = None,
) -> User:
    row = User(
        telegram_id=telegram_id,
        full_name=full_name,
        username=username,
        role=role,
        status=status,
        branch_id=branch_row.id if branch_row else None,
        approved_at=utcnow() if status == UserStatus.APPROVED else None,
    )
    session.add(row)
    await session.flush()
    return row
