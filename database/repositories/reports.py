"""Reports: the requests filed in a period, their cartridge lines, and counts over them.

Never commits: the caller owns the transaction. Every query takes `where`, the conditions of
the requests to report (`filed`). Portable SQL only (SQLite and PostgreSQL): joins, GROUP BY,
CASE and COALESCE; no correlated subqueries, no query per row.

Breaches (`lateness`, defined in `sla_terms`): the accept deadline is breached when the request
was taken after it (or, never taken, was closed or is still waiting to be taken past `now`); the
resolve deadline when the request was done after it, closed unresolved after it, went waiting
already late, or is still open past `now`.

The rows of the export are streamed (`request_rows`, `line_rows`): read `batch` rows at a time
from a server-side cursor, so memory does not grow with the number of rows. Their times are
naive UTC datetimes (`naive_utc`): an export reads hundreds of thousands of them, and making
each one timezone-aware (`UTCDateTime`) costs more than reading it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Select, case, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from database.models import Branch, CartridgeType, Category, Request, RequestItem, User
from database.repositories.sla_terms import accept_breached, resolve_breached


class naive_utc(FunctionElement[datetime]):
    """A stored time as a naive UTC datetime, without `UTCDateTime`'s per-value conversion:
    SQLite keeps UTC without a zone already; PostgreSQL converts (`timezone('UTC', …)`)."""

    type = DateTime()
    name = "naive_utc"
    inherit_cache = True


@compiles(naive_utc)
def _naive_utc(element: naive_utc, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(naive_utc, "postgresql")
def _naive_utc_postgresql(element: naive_utc, compiler: SQLCompiler, **kw: Any) -> str:
    return f"timezone('UTC', {compiler.process(element.clauses, **kw)})"


def filed(
    start: datetime,
    end: datetime,
    *,
    branch_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> list[Any]:
    """Requests filed in `[start, end)` (UTC), of one branch, kind and status when given."""
    conditions = [Request.created_at >= start, Request.created_at < end]
    if branch_id is not None:
        conditions.append(Request.branch_id == branch_id)
    if kind is not None:
        conditions.append(Request.kind == kind)
    if status is not None:
        conditions.append(Request.status == status)
    return conditions


def lateness(now: datetime) -> tuple[Any, Any]:
    """1 when the accept / resolve deadline was breached (as of `now` for open requests):
    `sla_terms.accept_breached`, `sla_terms.resolve_breached`."""
    return (
        case((accept_breached(now), 1), else_=0),
        case((resolve_breached(now), 1), else_=0),
    )


async def counts(session: AsyncSession, where: Sequence[Any], now: datetime) -> list[Row]:
    """Rows (status, kind, count, accept breaches, resolve breaches), one per status and kind."""
    accept_late, resolve_late = lateness(now)
    result = await session.execute(
        select(
            Request.status,
            Request.kind,
            func.count(),
            func.sum(accept_late),
            func.sum(resolve_late),
        )
        .where(*where)
        .group_by(Request.status, Request.kind)
    )
    return list(result)


async def issued(session: AsyncSession, where: Sequence[Any]) -> int:
    """Cartridges issued on the orders among the requests."""
    total = await session.scalar(
        select(func.coalesce(func.sum(RequestItem.issued_quantity), 0))
        .join(Request, Request.id == RequestItem.request_id)
        .where(*where)
    )
    return int(total or 0)


def requests_query(where: Sequence[Any], now: datetime, language: str) -> Select:
    """One row per request, in filing order: number, kind, category name (in `language`),
    priority, status, branch, author, assignee, subject, description, cartridges requested and
    issued (None for a request without lines), reject reason, created / accepted / started /
    done / closed, archived, accept and resolve deadlines, waiting seconds, accept late,
    resolve late (`lateness`). Times are naive UTC (`naive_utc`)."""
    author, assignee = aliased(User), aliased(User)
    lines = (
        select(
            RequestItem.request_id,
            func.sum(RequestItem.quantity).label("quantity"),
            func.sum(RequestItem.issued_quantity).label("issued"),
        )
        .join(Request, Request.id == RequestItem.request_id)
        .where(*where)
        .group_by(RequestItem.request_id)
        .subquery()
    )
    accept_late, resolve_late = lateness(now)
    return (
        select(
            Request.number,
            Request.kind,
            Category.name_en if language == "en" else Category.name_ru,
            Request.priority,
            Request.status,
            Branch.name,
            author.full_name,
            assignee.full_name,
            Request.subject,
            Request.description,
            lines.c.quantity,
            lines.c.issued,
            Request.reject_reason,
            naive_utc(Request.created_at),
            naive_utc(Request.accepted_at),
            naive_utc(Request.started_at),
            naive_utc(Request.done_at),
            naive_utc(Request.closed_at),
            Request.archived,
            naive_utc(Request.accept_due_at),
            naive_utc(Request.resolve_due_at),
            Request.waiting_seconds,
            accept_late,
            resolve_late,
        )
        .join(Category, Category.id == Request.category_id)
        .join(author, author.id == Request.author_id)
        .outerjoin(assignee, assignee.id == Request.assignee_id)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .outerjoin(lines, lines.c.request_id == Request.id)
        .where(*where)
        .order_by(Request.created_at, Request.id)
    )


def lines_query(where: Sequence[Any]) -> Select:
    """One row per cartridge line, in filing order: request number, created (naive UTC),
    branch name, model, quantity, issued."""
    return (
        select(
            Request.number,
            naive_utc(Request.created_at),
            Branch.name,
            CartridgeType.model,
            RequestItem.quantity,
            RequestItem.issued_quantity,
        )
        .join(Request, Request.id == RequestItem.request_id)
        .join(CartridgeType, CartridgeType.id == RequestItem.cartridge_type_id)
        .outerjoin(Branch, Branch.id == Request.branch_id)
        .where(*where)
        .order_by(Request.created_at, Request.id, RequestItem.id)
    )


def request_rows(
    session: AsyncSession, where: Sequence[Any], now: datetime, *, language: str, batch: int
) -> AsyncGenerator[Sequence[Row], None]:
    """The rows of `requests_query`, `batch` at a time."""
    return _batches(session, requests_query(where, now, language), batch)


def line_rows(
    session: AsyncSession, where: Sequence[Any], *, batch: int
) -> AsyncGenerator[Sequence[Row], None]:
    """The rows of `lines_query`, `batch` at a time."""
    return _batches(session, lines_query(where), batch)


async def _batches(
    session: AsyncSession, stmt: Select, batch: int
) -> AsyncGenerator[Sequence[Row], None]:
    # Core rows straight from the session's connection (its transaction): no ORM layer.
    connection = await session.connection()
    result = await connection.stream(stmt.execution_options(yield_per=batch))
    try:
        async for rows in result.partitions():
            yield rows
    finally:
        await result.close()
