"""Queries of branch administration: every branch (active or not), one with its printers.
Case-insensitive matching happens in Python (SQLite's lower() is ASCII-only), so the lists are
whole; an organisation has hundreds of branches, not millions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from database.models import Branch


async def all_branches(session: AsyncSession) -> list[Branch]:
    """Every branch: the active ones first, then the deactivated, each by name."""
    result = await session.execute(
        select(Branch).order_by(Branch.is_active.desc(), Branch.name, Branch.id)
    )
    return list(result.scalars())


async def names(session: AsyncSession) -> list[tuple[int, str]]:
    """(id, name) of every branch."""
    result = await session.execute(select(Branch.id, Branch.name))
    return [(branch_id, name) for branch_id, name in result.all()]


async def with_printers(session: AsyncSession, branch_id: int) -> Branch | None:
    """The branch with its printers loaded (fresh from the database)."""
    result = await session.execute(
        select(Branch)
        .where(Branch.id == branch_id)
        .options(selectinload(Branch.printers))
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def add(session: AsyncSession, branch: Branch) -> Branch:
    session.add(branch)
    await session.flush()
    return branch
