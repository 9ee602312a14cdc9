"""Branches and categories."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import Branch, Category, Warehouse

# Built once: the branch picker is on every registration and order.
_ACTIVE = Branch.is_active.is_(True)
_ACTIVE_PAGE = (
    select(Branch, func.count().over().label("total"))
    .where(_ACTIVE)
    .order_by(Branch.name, Branch.id)
    .offset(bindparam("offset"))
    .limit(bindparam("limit"))
)


async def active_branches_page(
    session: AsyncSession, *, offset: int, limit: int
) -> tuple[list[Branch], int]:
    """One page of active branches by name, and the total count (one query per page)."""
    rows = (await session.execute(_ACTIVE_PAGE, {"offset": offset, "limit": limit})).all()
    if rows:
        return [row.Branch for row in rows], int(rows[0].total)
    total = await session.scalar(select(func.count()).select_from(Branch).where(_ACTIVE))
    return [], int(total or 0)


async def branch(session: AsyncSession, branch_id: int) -> Branch | None:
    return await session.get(Branch, branch_id)


async def active_categories_by_ids(session: AsyncSession, ids: list[int]) -> list[Category]:
    result = await session.execute(
        select(Category)
        .where(Category.id.in_(ids), Category.is_active.is_(True))
        .order_by(Category.sort_order, Category.id)
    )
    return list(result.scalars())


async def active_categories(session: AsyncSession) -> list[Category]:
    result = await session.execute(
        select(Category).where(Category.is_active.is_(True)).order_by(Category.sort_order)
    )
    return list(result.scalars())


async def active_categories_of_kind(session: AsyncSession, kind: str) -> list[Category]:
    """Active categories of one kind (order / ticket), in sort order."""
    result = await session.scalars(
        select(Category)
        .where(Category.is_active.is_(True), Category.kind == kind)
        .order_by(Category.sort_order, Category.id)
    )
    return list(result)


async def category_by_code(session: AsyncSession, code: str) -> Category | None:
    result = await session.execute(select(Category).where(Category.code == code))
    return result.scalar_one_or_none()


async def branches(session: AsyncSession, branch_ids: list[int]) -> list[Branch]:
    result = await session.execute(select(Branch).where(Branch.id.in_(branch_ids)))
    return list(result.scalars())


async def has_warehouse(session: AsyncSession) -> bool:
    """Whether any warehouse exists, active or not."""
    return await session.scalar(select(Warehouse.id).limit(1)) is not None


async def add(session: AsyncSession, row: Category | Warehouse) -> None:
    session.add(row)
    await session.flush()
