"""Requests: numbering, creation, atomic status changes, lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from database.enums import OPEN_STATUSES, Priority, RequestStatus
from database.models import (
    Attachment,
    CartridgeType,
    Request,
    RequestCounter,
    RequestItem,
    User,
)
from utils.paging import clamp_page


async def next_sequence(session: AsyncSession, prefix: str, year: int) -> int:
    """The next number for prefix and year; concurrent callers never get the same one."""
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(RequestCounter)
        .values(prefix=prefix, year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[RequestCounter.prefix, RequestCounter.year],
            set_={"last_value": RequestCounter.last_value + 1},
        )
        .returning(RequestCounter.last_value)
    )
    return int((await session.execute(stmt)).scalar_one())


async def by_client_token(session: AsyncSession, token: str) -> Request | None:
    result = await session.execute(
        select(Request).where(Request.client_token == token).options(selectinload(Request.items))
    )
    return result.scalar_one_or_none()


async def by_id(session: AsyncSession, request_id: int) -> Request | None:
    result = await session.execute(
        select(Request)
        .where(Request.id == request_id)
        .options(selectinload(Request.items))
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def count_by_author(session: AsyncSession, author_id: int, statuses: Iterable[str]) -> int:
    """How many requests of the author are in one of `statuses`."""
    stmt = select(func.count(Request.id)).where(
        Request.author_id == author_id, Request.status.in_(list(statuses))
    )
    return int(await session.scalar(stmt) or 0)


async def add(session: AsyncSession, request: Request) -> Request:
    session.add(request)
    await session.flush()
    return request


async def change_status(
    session: AsyncSession,
    request_id: int,
    *,
    from_statuses: Iterable[RequestStatus],
    values: dict[str, Any],
    assignee_id: int | None = None,
    require_assignee: bool = False,
) -> bool:
    """Move the request only if it is still in one of `from_statuses` (and, when required,
    still assigned to `assignee_id`): of two concurrent changes exactly one succeeds."""
    conditions = [Request.id == request_id, Request.status.in_(list(from_statuses))]
    if require_assignee:
        conditions.append(Request.assignee_id == assignee_id)
    result = await session.execute(
        update(Request)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def assigned_to(
    session: AsyncSession, user_id: int, statuses: Iterable[RequestStatus]
) -> list[Request]:
    """The requests assigned to the user in one of `statuses`, oldest first."""
    result = await session.execute(
        select(Request)
        .where(Request.assignee_id == user_id, Request.status.in_(list(statuses)))
        .order_by(Request.id)
    )
    return list(result.scalars())


async def attachments(session: AsyncSession, request_id: int) -> list[Attachment]:
    result = await session.execute(
        select(Attachment).where(Attachment.request_id == request_id).order_by(Attachment.id)
    )
    return list(result.scalars())


@dataclass(frozen=True, slots=True)
class Share:
    """The requests an executor serves: their categories, and the branches they are the own
    executor of."""

    category_ids: Sequence[int]
    branch_ids: Sequence[int]


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Which requests a list shows; None: no condition. `open`: open ones (True) or finished
    ones (False); `share`: those an executor serves (None for supervisors and above: all)."""

    author_id: int | None = None
    assignee_id: int | None = None
    open: bool | None = None
    status: str | None = None
    priority: str | None = None
    not_archived: bool = False
    share: Share | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.author_id is not None:
            found.append(Request.author_id == self.author_id)
        if self.assignee_id is not None:
            found.append(Request.assignee_id == self.assignee_id)
        if self.open is not None:
            found.append(open_condition(self.open))
        if self.status is not None:
            found.append(Request.status == self.status)
        if self.priority is not None:
            found.append(Request.priority == self.priority)
        if self.not_archived:
            found.append(Request.archived.is_(False))
        if self.share is not None:
            served = [
                Request.category_id.in_(self.share.category_ids),
                Request.branch_id.in_(self.share.branch_ids),
            ]
            found.append(or_(*served) if self.share.branch_ids else served[0])
        return found


async def page(
    session: AsyncSession,
    *,
    where: ListFilter,
    offset: int,
    limit: int,
    newest_first: bool = True,
) -> tuple[list[Request], int]:
    conditions = where.conditions()
    total = await session.scalar(select(func.count()).select_from(Request).where(*conditions))
    order = Request.id.desc() if newest_first else Request.id
    result = await session.execute(
        select(Request).where(*conditions).order_by(order).offset(offset).limit(limit)
    )
    return list(result.scalars()), int(total or 0)


async def cartridge_lines(
    session: AsyncSession, request_ids: Sequence[int]
) -> dict[int, list[tuple[str, int]]]:
    """(model, quantity) of each line of the given orders, in the order they were added."""
    if not request_ids:
        return {}
    result = await session.execute(
        select(RequestItem.request_id, CartridgeType.model, RequestItem.quantity)
        .join(CartridgeType, CartridgeType.id == RequestItem.cartridge_type_id)
        .where(RequestItem.request_id.in_(request_ids))
        .order_by(RequestItem.request_id, RequestItem.id)
    )
    lines: dict[int, list[tuple[str, int]]] = {}
    for request_id, model, quantity in result:
        lines.setdefault(request_id, []).append((model, quantity))
    return lines


def open_condition(active: bool) -> Any:
    statuses = list(OPEN_STATUSES)
    return Request.status.in_(statuses) if active else Request.status.not_in(statuses)


PRIORITY_RANK = {
    Priority.CRITICAL: 0,
    Priority.HIGH: 1,
    Priority.NORMAL: 2,
    Priority.LOW: 3,
}


def priority_rank() -> Any:
    """Critical first, low last; an unknown value after them all."""
    return case(PRIORITY_RANK, value=Request.priority, else_=len(PRIORITY_RANK))


async def ranked_page(
    session: AsyncSession, *, where: ListFilter, page: int, limit: int
) -> tuple[list[Request], int, int]:
    """A page by priority (critical first), then oldest first; a page past the end gives the
    last one. Returns the rows, the page actually shown and the total."""
    conditions = where.conditions()
    total = int(
        await session.scalar(select(func.count()).select_from(Request).where(*conditions)) or 0
    )
    page = clamp_page(page, total, limit)
    result = await session.execute(
        select(Request)
        .where(*conditions)
        .order_by(priority_rank(), Request.created_at, Request.id)
        .offset(page * limit)
        .limit(limit)
    )
    return list(result.scalars()), page, total


async def user_names(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    """Full names of the given users (assignees of a list), by id."""
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    result = await session.execute(select(User.id, User.full_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in result}
