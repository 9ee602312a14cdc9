"""`/stats`: what is open now, what happened in a period, and the reader's own numbers.

Scope: supervisors and above count every request; an executor counts the requests of their
categories and of the branches whose own executor they are. "My numbers" count the requests
assigned to the reader, whatever their category.

- now: open requests (`OPEN_STATUSES`, not archived) by status and by priority; overdue ones
  as the SLA scan decides it (`database.repositories.sla_terms.overdue`);
- the period (local days, `services.periods`): requests filed in it by status, by branch (the
  top `TOP_BRANCHES`, the rest summed up) and by category; time to accept
  (`accepted_at - created_at`) over the requests accepted in it, time to resolve
  (`done_at - created_at - waiting_seconds`: waiting for the requester does not count) over
  those done in it; the branches that got most cartridges from orders issued in it.

Percentiles are nearest-rank: the p-th percentile of n sorted values is the value at rank
⌈p/100 · n⌉ (1-based), always one of the values; none without values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from database.enums import Role
from database.repositories import inbox as inbox_repo
from database.repositories import stats as stats_repo
from database.repositories import users as users_repo
from services.actor import Actor
from services.periods import Period

TOP_BRANCHES = 10
TOP_CATEGORIES = 10
TOP_ISSUING = 5
PERCENTILE = 90


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    average: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Durations:
        if not values:
            return cls(0, None, None)
        average = sum(values, timedelta(0)) / len(values)
        return cls(len(values), average, percentile(values, PERCENTILE))


@dataclass(frozen=True, slots=True)
class BranchCount:
    branch_id: int | None  # None: requests filed without a branch
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category_id: int
    name_ru: str
    name_en: str
    count: int


@dataclass(frozen=True, slots=True)
class MyNumbers:
    taken: int  # accepted in the period
    resolved: int  # done (resolved or issued) in the period
    open_now: int
    overdue_now: int
    resolve_average: timedelta | None


@dataclass(frozen=True, slots=True)
class Stats:
    period: Period
    everything: bool  # True: all requests; False: the executor's categories and branches
    open_by_status: dict[str, int]
    open_by_priority: dict[str, int]
    overdue_now: int
    filed_by_status: dict[str, int]
    top_branches: list[BranchCount]
    other_branches: int  # requests filed in the branches beyond the top
    top_categories: list[CategoryCount]
    other_categories: int
    accept: Durations
    resolve: Durations
    issued_by_branch: list[BranchCount]  # quantity of cartridges in `count`
    mine: MyNumbers | None
    parked_updates: int | None = None  # owners only: updates that failed every attempt

    @property
    def open_now(self) -> int:
        return sum(self.open_by_status.values())

    @property
    def filed(self) -> int:
        return sum(self.filed_by_status.values())


def percentile(values: Sequence[timedelta], p: int) -> timedelta | None:
    """Nearest-rank percentile (see the module docstring)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


def _resolve_times(rows: Sequence[tuple[datetime, datetime, int]]) -> list[timedelta]:
    return [
        max(done - created - timedelta(seconds=waited), timedelta(0))
        for created, done, waited in rows
    ]


def require_reader(actor: Actor) -> None:
    """Statistics are for executors and above."""
    actor.require(Role.EXECUTOR)


async def collect(
    session: AsyncSession, actor: Actor, period: Period, tz: ZoneInfo, now: datetime
) -> Stats:
    """The statistics the actor may see (executors and above)."""
    require_reader(actor)
    everything = actor.at_least(Role.SUPERVISOR)
    where: list = []
    if not everything:
        where = stats_repo.scope(
            await users_repo.category_ids(session, actor.user_id),
            await users_repo.own_branch_ids(session, actor.user_id),
        )
    start, end = period.utc_bounds(tz)

    by_status: dict[str, int] = {}
    by_priority: dict[str, int] = {}
    overdue = 0
    for row in await stats_repo.open_now(session, where, now):
        by_status[row.status] = by_status.get(row.status, 0) + row.count
        by_priority[row.priority] = by_priority.get(row.priority, 0) + row.count
        overdue += int(row.overdue)

    filed = await stats_repo.filed_by_status(session, where, start, end)
    branches = [
        BranchCount(r.id, r.name or "", r.count)
        for r in await stats_repo.filed_by_branch(session, where, start, end, TOP_BRANCHES)
    ]
    categories = [
        CategoryCount(r.id, r.name_ru, r.name_en, r.count)
        for r in await stats_repo.filed_by_category(session, where, start, end, TOP_CATEGORIES)
    ]
    total = sum(filed.values())
    accepted = await stats_repo.accepted(session, where, start, end)
    resolved = await stats_repo.resolved(session, where, start, end)
    issued = await stats_repo.issued_by_branch(session, where, start, end, TOP_ISSUING)
    return Stats(
        period=period,
        everything=everything,
        open_by_status=by_status,
        open_by_priority=by_priority,
        overdue_now=overdue,
        filed_by_status=filed,
        top_branches=branches,
        other_branches=total - sum(b.count for b in branches),
        top_categories=categories,
        other_categories=total - sum(c.count for c in categories),
        accept=Durations.of([taken - created for created, taken in accepted]),
        resolve=Durations.of(_resolve_times(resolved)),
        issued_by_branch=[BranchCount(r.id, r.name or "", int(r.quantity)) for r in issued],
        mine=await _mine(session, actor, start, end, now),
        parked_updates=await inbox_repo.count_parked(session) if actor.is_owner else None,
    )


async def _mine(
    session: AsyncSession, actor: Actor, start: datetime, end: datetime, now: datetime
) -> MyNumbers | None:
    """The reader's own numbers: always for executors; for supervisors and above only when
    they handle requests themselves."""
    if actor.user_id is None:
        return None
    counts = await stats_repo.assigned_counts(session, actor.user_id, start, end, now)
    times = _resolve_times(
        await stats_repo.resolved(session, stats_repo.assigned(actor.user_id), start, end)
    )
    mine = MyNumbers(
        taken=int(counts.taken),
        resolved=len(times),
        open_now=int(counts.open),
        overdue_now=int(counts.overdue),
        resolve_average=Durations.of(times).average,
    )
    handles = any((mine.taken, mine.resolved, mine.open_now))
    return mine if handles or not actor.at_least(Role.SUPERVISOR) else None
