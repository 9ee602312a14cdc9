"""Statistics: counts grouped in SQL, and the timestamp pairs of one period for durations.

Never commits. Every query takes `where`, the conditions of the requests the reader may count
(empty: all of them), and a period as UTC bounds `[start, end)`. Portable SQL only (SQLite and
PostgreSQL): GROUP BY, CASE and COALESCE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import RequestKind
from database.models import Branch, Category, Request, RequestItem
from database.repositories.sla import NOT_ARCHIVED, OPEN
from database.repositories.sla_terms import overdue


def scope(category_ids: Sequence[int], branch_ids: Sequence[int]) -> list[Any]:
    """Requests of these categories or of these branches."""
    served = Request.category_id.in_(list(category_ids))
    if branch_ids:
        served = or_(served, Request.branch_id.in_(list(branch_ids)))
    return [served]


def assigned(user_id: int) -> list[Any]:
    """Requests assigned to the user."""
    return [Request.assignee_id == user_id]


def _between(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def open_now(session: AsyncSession, where: Sequence[Any], now: datetime) -> list[Row]:
    """Open requests now: rows (status, priority, count, overdue); overdue as the SLA scan
    decides it (`sla_terms.overdue`)."""
    result = await session.execute(
        select(
            Request.status,
            Request.priority,
            func.count().label("count"),
            _count_if(overdue(now)).label("overdue"),
        )
        .where(OPEN, NOT_ARCHIVED, *where)
        .group_by(Request.status, Request.priority)
    )
    return list(result)


async def filed_by_status(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime
) -> dict[str, int]:
    """Requests filed in the period, by status."""
    result = await session.execute(
        select(Request.status, func.count())
        .where(_between(Request.created_at, start, end), *where)
        .group_by(Request.status)
    )
    return {status: int(count) for status, count in result}


async def filed_by_branch(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime, limit: int
) -> list[Row]:
    """The `limit` branches with most requests filed in the period: rows (id, name, count);
    requests without a branch come as id None."""
    count = func.count(Request.id)
    result = await session.execute(
        select(Branch.id, Branch.name, count.label("count"))
        .select_from(Request)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .where(_between(Request.created_at, start, end), *where)
        .group_by(Branch.id, Branch.name)
        .order_by(count.desc(), Branch.name.is_(None), Branch.name)
        .limit(limit)
    )
    return list(result)


async def filed_by_category(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime, limit: int
) -> list[Row]:
    """The `limit` categories with most requests filed in the period: rows
    (id, name_ru, name_en, count)."""
    count = func.count(Request.id)
    result = await session.execute(
        select(Category.id, Category.name_ru, Category.name_en, count.label("count"))
        .select_from(Request)
        .join(Category, Category.id == Request.category_id)
        .where(_between(Request.created_at, start, end), *where)
        .group_by(Category.id, Category.name_ru, Category.name_en, Category.sort_order)
        .order_by(count.desc(), Category.sort_order, Category.id)
        .limit(limit)
    )
    return list(result)


async def accepted(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """(created_at, accepted_at) of the requests accepted in the period."""
    result = await session.execute(
        select(Request.created_at, Request.accepted_at).where(
            _between(Request.accepted_at, start, end), *where
        )
    )
    return [(created, taken) for created, taken in result]


async def resolved(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime
) -> list[tuple[datetime, datetime, int]]:
    """(created_at, done_at, waiting_seconds) of the requests done in the period (a reopened
    request has no `done_at` until it is done again)."""
    result = await session.execute(
        select(Request.created_at, Request.done_at, Request.waiting_seconds).where(
            _between(Request.done_at, start, end), *where
        )
    )
    return [(created, done, int(waited or 0)) for created, done, waited in result]


async def issued_by_branch(
    session: AsyncSession, where: Sequence[Any], start: datetime, end: datetime, limit: int
) -> list[Row]:
    """The `limit` branches that got most cartridges from orders issued in the period: rows
    (id, name, quantity); branches that got none are left out."""
    quantity = func.sum(RequestItem.issued_quantity)
    result = await session.execute(
        select(Branch.id, Branch.name, quantity.label("quantity"))
        .select_from(Request)
        .join(RequestItem, RequestItem.request_id == Request.id)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .where(
            Request.kind == RequestKind.ORDER,
            _between(Request.done_at, start, end),
            *where,
        )
        .group_by(Branch.id, Branch.name)
        .having(quantity > 0)
        .order_by(quantity.desc(), Branch.name.is_(None), Branch.name)
        .limit(limit)
    )
    return list(result)


async def assigned_counts(
    session: AsyncSession, user_id: int, start: datetime, end: datetime, now: datetime
) -> Row:
    """Of the requests assigned to the user: (taken, open, overdue) — accepted in the period,
    open now, overdue now (`sla_terms.overdue`)."""
    is_open = and_(OPEN, NOT_ARCHIVED)
    result = await session.execute(
        select(
            _count_if(_between(Request.accepted_at, start, end)).label("taken"),
            _count_if(is_open).label("open"),
            _count_if(and_(is_open, overdue(now))).label("overdue"),
        ).where(Request.assignee_id == user_id)
    )
    return result.one()
