"""Queries of category administration: every category (active or not), one category, and who
serves it now. Whole lists: an organisation has a few categories and hundreds of people."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Category
from database.models.users import user_categories


async def all_categories(session: AsyncSession) -> list[Category]:
    """Every category, fresh from the database, by sort order (the order of every list)."""
    result = await session.execute(
        select(Category)
        .order_by(Category.sort_order, Category.id)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def by_id(session: AsyncSession, category_id: int) -> Category | None:
    result = await session.execute(
        select(Category).where(Category.id == category_id).execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def add(session: AsyncSession, category: Category) -> Category:
    session.add(category)
    await session.flush()
    return category


async def server_ids(session: AsyncSession, category_id: int) -> set[int]:
    """Ids of everyone who serves the category (whatever their role or activity)."""
    result = await session.execute(
        select(user_categories.c.user_id).where(user_categories.c.category_id == category_id)
    )
    return set(result.scalars())
