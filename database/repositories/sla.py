"""SLA: policy rows, the open requests whose deadlines have passed, and the levels already sent.

Never commits: the caller owns the transaction.

The scan reads open requests only, through the partial index `ix_requests_open`. A partial index
serves a query only when the query's WHERE contains the index's own condition, and the planner
can prove that only for constants: with bound parameters (`status IN (?, ?, …)`) SQLite cannot
tell what they will be and falls back to a full scan. So `OPEN` is the index's condition as a
literal, written the same way (same statuses, same order) as in `database/models/requests.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    Select,
    and_,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import OPEN_STATUSES
from database.models import Request, SlaNotification, SlaPolicy

# The statuses in which each deadline runs, and what "overdue" means, live in `sla_terms`;
# the statuses are re-exported here for the readers that know them from this module.
from database.repositories.sla_terms import ACCEPT_STATUSES as ACCEPT_STATUSES
from database.repositories.sla_terms import RESOLVE_STATUSES as RESOLVE_STATUSES
from database.repositories.sla_terms import accept_overdue, resolve_overdue

ACCEPT = "accept"
RESOLVE = "resolve"
REMINDER = "reminder"
ESCALATION = "escalation"

# The index condition of ix_requests_open, as constants (see the module docstring).
OPEN = Request.status.in_([literal_column(f"'{s.value}'") for s in OPEN_STATUSES])
# Not archived, written so that it does not match the condition of archiving's partial index
# (`ix_requests_unarchived_final`: `archived = 0` / `NOT archived`): the planner then has one
# partial index for these queries, the one sized by open requests. Same rows (NOT NULL column).
NOT_ARCHIVED = Request.archived.is_not(True)

Level = tuple[int, str, str]  # (request_id, deadline, level)

# What the scan needs of a request (no ORM objects: the scan may read thousands of rows).
SCAN_COLUMNS = (
    Request.id,
    Request.number,
    Request.kind,
    Request.status,
    Request.category_id,
    Request.priority,
    Request.branch_id,
    Request.assignee_id,
    Request.created_at,
    Request.accept_due_at,
    Request.resolve_due_at,
    Request.waiting_seconds,
)


async def policy(session: AsyncSession, category_id: int, priority: str) -> tuple[int, int] | None:
    """(accept_minutes, resolve_minutes) of the category and priority, if a row sets them."""
    row = (
        await session.execute(
            select(SlaPolicy.accept_minutes, SlaPolicy.resolve_minutes).where(
                SlaPolicy.category_id == category_id, SlaPolicy.priority == priority
            )
        )
    ).one_or_none()
    return None if row is None else (int(row[0]), int(row[1]))


async def policies(session: AsyncSession) -> dict[tuple[int, str], tuple[int, int]]:
    """Every policy row: (category_id, priority) -> (accept_minutes, resolve_minutes)."""
    result = await session.execute(
        select(
            SlaPolicy.category_id,
            SlaPolicy.priority,
            SlaPolicy.accept_minutes,
            SlaPolicy.resolve_minutes,
        )
    )
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in result}


def count_open_query() -> Select:
    return select(func.count()).select_from(Request).where(OPEN, NOT_ARCHIVED)


async def count_open(session: AsyncSession) -> int:
    """Open, non-archived requests."""
    return int(await session.scalar(count_open_query()) or 0)


def _sent(request_id: object, deadline: str, level: str) -> object:
    return exists().where(
        SlaNotification.request_id == request_id,
        SlaNotification.deadline == deadline,
        SlaNotification.level == level,
    )


def due_query(now: datetime) -> Select:
    """Requests overdue at `now` (`sla_terms.accept_overdue`, `sla_terms.resolve_overdue`)
    whose escalation for that deadline is not yet sent, and requests with no deadlines yet
    (filed before SLA existed, or by a path that did not set them); only where a deadline still
    runs (`RESOLVE_STATUSES`, which include the accept ones). `OPEN` comes first: it is what
    lets the planner use the partial index."""
    return select(*SCAN_COLUMNS).where(
        OPEN,
        Request.status.in_(RESOLVE_STATUSES),
        NOT_ARCHIVED,
        or_(
            and_(accept_overdue(now), ~_sent(Request.id, ACCEPT, ESCALATION)),
            and_(resolve_overdue(now), ~_sent(Request.id, RESOLVE, ESCALATION)),
            Request.accept_due_at.is_(None),
            Request.resolve_due_at.is_(None),
        ),
    )


async def due(session: AsyncSession, now: datetime) -> list[Row]:
    """Rows of `due_query`, by id (columns: `SCAN_COLUMNS`)."""
    rows = list(await session.execute(due_query(now)))
    rows.sort(key=lambda r: r.id)
    return rows


async def sent_levels(session: AsyncSession, request_ids: Sequence[int]) -> dict[Level, datetime]:
    """(request_id, deadline, level) already recorded for these requests → when."""
    found: dict[Level, datetime] = {}
    for i in range(0, len(request_ids), 500):  # stay under every driver's parameter limit
        chunk = list(request_ids[i : i + 500])
        result = await session.execute(
            select(
                SlaNotification.request_id,
                SlaNotification.deadline,
                SlaNotification.level,
                SlaNotification.sent_at,
            ).where(SlaNotification.request_id.in_(chunk))
        )
        found.update(((r[0], r[1], r[2]), r[3]) for r in result)
    return found


async def record_levels(
    session: AsyncSession, levels: Sequence[Level], sent_at: datetime
) -> set[Level]:
    """Record levels as sent; returns those recorded now. A level recorded before (by an
    earlier scan, or by a concurrent one) is skipped by the unique constraint: on PostgreSQL
    the second insert waits for the first transaction and then does nothing. Rows go in
    sorted, so two concurrent scans lock them in the same order and cannot deadlock."""
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    recorded: set[Level] = set()
    ordered = sorted(set(levels))
    for i in range(0, len(ordered), 500):  # 4 parameters a row: under every driver's limit
        chunk = ordered[i : i + 500]
        stmt = (
            insert(SlaNotification)
            .values(
                [
                    {"request_id": r, "deadline": d, "level": lv, "sent_at": sent_at}
                    for r, d, lv in chunk
                ]
            )
            .on_conflict_do_nothing(
                index_elements=[
                    SlaNotification.request_id,
                    SlaNotification.deadline,
                    SlaNotification.level,
                ]
            )
            .returning(SlaNotification.request_id, SlaNotification.deadline, SlaNotification.level)
        )
        recorded.update((r[0], r[1], r[2]) for r in await session.execute(stmt))
    return recorded


async def set_deadlines(
    session: AsyncSession,
    request_id: int,
    *,
    accept_due_at: datetime | None,
    resolve_due_at: datetime | None,
) -> None:
    """Fill deadlines that are still empty (never overwrites one already set)."""
    values = {}
    if accept_due_at is not None:
        values["accept_due_at"] = func.coalesce(
            Request.accept_due_at, literal(accept_due_at, Request.accept_due_at.type)
        )
    if resolve_due_at is not None:
        values["resolve_due_at"] = func.coalesce(
            Request.resolve_due_at, literal(resolve_due_at, Request.resolve_due_at.type)
        )
    if values:
        await session.execute(
            update(Request)
            .where(Request.id == request_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
