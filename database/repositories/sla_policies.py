"""SLA targets set per category and priority (`sla_policies`), for the /sla screen.

Never commits: the caller owns the transaction. The defaults and reading one target for a new
request are `services.sla`'s (through `database.repositories.sla.policy`).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import SlaPolicy


async def of_category(session: AsyncSession, category_id: int) -> dict[str, tuple[int, int]]:
    """The category's rows: priority → (accept_minutes, resolve_minutes)."""
    result = await session.execute(
        select(SlaPolicy.priority, SlaPolicy.accept_minutes, SlaPolicy.resolve_minutes).where(
            SlaPolicy.category_id == category_id
        )
    )
    return {str(r[0]): (int(r[1]), int(r[2])) for r in result}


async def upsert(
    session: AsyncSession,
    category_id: int,
    priority: str,
    *,
    accept_minutes: int,
    resolve_minutes: int,
) -> None:
    """Insert the row of the category and priority, or set its minutes if it is there (one
    statement: two admins saving at once leave one row, the last one's)."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    values = {"accept_minutes": accept_minutes, "resolve_minutes": resolve_minutes}
    stmt = insert(SlaPolicy).values(category_id=category_id, priority=priority, **values)
    stmt = stmt.on_conflict_do_update(index_elements=["category_id", "priority"], set_=values)
    await session.execute(stmt)


async def delete_one(
    session: AsyncSession, category_id: int, priority: str
) -> tuple[int, int] | None:
    """Delete the row of the category and priority; its (accept, resolve) minutes, or None when
    there was none."""
    result = await session.execute(
        delete(SlaPolicy)
        .where(SlaPolicy.category_id == category_id, SlaPolicy.priority == priority)
        .returning(SlaPolicy.accept_minutes, SlaPolicy.resolve_minutes)
    )
    row = result.one_or_none()
    return None if row is None else (int(row[0]), int(row[1]))
