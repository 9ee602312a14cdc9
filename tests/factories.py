"""Small builders of database rows for tests (flushed, never committed)."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role, UserStatus
from database.models import Branch, CartridgeType, Category, Request, User, utcnow

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


_numbers = itertools.count(1)


async def request_row(
    session: AsyncSession,
    *,
    category_row: Category,
    author: User,
    branch_row: Branch | None = None,
    status: str = "new",
    priority: str = "normal",
    **columns: object,
) -> Request:
    """A request of the category's kind with any other columns given (timestamps, assignee,
    deadlines, waiting_seconds, items)."""
    prefix = "К" if category_row.kind == "order" else "Т"
    row = Request(
        number=f"{prefix}-2026-{next(_numbers):06d}",
        kind=category_row.kind,
        category_id=category_row.id,
        priority=priority,
        status=status,
        branch_id=branch_row.id if branch_row else None,
        author_id=author.id,
        **columns,
    )
    session.add(row)
    await session.flush()
    return row


async def cartridge_type(session: AsyncSession, model: str | None = None) -> CartridgeType:
    row = CartridgeType(model=model or f"CF{next(_ids):03d}A")
    session.add(row)
    await session.flush()
    return row
