"""Canned quick replies: the active ones of a category (plus the general ones), a page of all
active ones with their category, one by id."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Category, QuickReply

_ACTIVE = QuickReply.is_active.is_(True)


async def for_category(session: AsyncSession, category_id: int, limit: int) -> list[QuickReply]:
    """Active replies of the category first, then the general ones, each in creation order."""
    general_last = case((QuickReply.category_id.is_(None), 1), else_=0)
    result = await session.execute(
        select(QuickReply)
        .where(_ACTIVE, (QuickReply.category_id == category_id) | QuickReply.category_id.is_(None))
        .order_by(general_last, QuickReply.id)
        .limit(limit)
    )
    return list(result.scalars())


async def active_page(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[tuple[QuickReply, Category | None]], int]:
    """One page of the active replies (general first, then by category order) with their
    category, and the total count."""
    total = await session.scalar(select(func.count()).select_from(QuickReply).where(_ACTIVE))
    general_first = case((QuickReply.category_id.is_(None), 0), else_=1)
    result = await session.execute(
        select(QuickReply, Category)
        .outerjoin(Category, Category.id == QuickReply.category_id)
        .where(_ACTIVE)
        .order_by(general_first, Category.sort_order, Category.id, QuickReply.id)
        .offset(offset)
        .limit(limit)
    )
    return [(reply, category) for reply, category in result.all()], int(total or 0)


async def by_id(session: AsyncSession, reply_id: int) -> QuickReply | None:
    return await session.get(QuickReply, reply_id)


async def add(session: AsyncSession, reply: QuickReply) -> QuickReply:
    session.add(reply)
    await session.flush()
    return reply
