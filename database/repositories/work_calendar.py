"""The working calendar set by admins: hours, the years defined here and their days.

Never commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from database.models import CalendarDay, CalendarHours, CalendarYear, utcnow
from database.models.calendar import HOURS_ROW_ID

DayRow = tuple[date, bool, str | None]  # (date, working, name)


def _insert(session: AsyncSession) -> Any:
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def hours(session: AsyncSession) -> CalendarHours | None:
    return await session.scalar(
        select(CalendarHours)
        .where(CalendarHours.id == HOURS_ROW_ID)
        .execution_options(populate_existing=True)
    )


async def set_hours(
    session: AsyncSession, *, start: time, end: time, days: str, updated_by_id: int | None
) -> None:
    """Store the working hours and days, replacing those there (one statement, race-free)."""
    stmt = _insert(session)(CalendarHours).values(
        id=HOURS_ROW_ID,
        work_start=start,
        work_end=end,
        work_days=days,
        updated_at=utcnow(),
        updated_by_id=updated_by_id,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "work_start": stmt.excluded.work_start,
            "work_end": stmt.excluded.work_end,
            "work_days": stmt.excluded.work_days,
            "updated_at": stmt.excluded.updated_at,
            "updated_by_id": stmt.excluded.updated_by_id,
        },
    )
    await session.execute(stmt)


async def years(session: AsyncSession) -> dict[int, CalendarYear]:
    """The years defined here, by year."""
    rows = await session.scalars(select(CalendarYear).execution_options(populate_existing=True))
    return {row.year: row for row in rows}


async def days(session: AsyncSession, year: int | None = None) -> list[DayRow]:
    """The stored days (of one year, or all), by date."""
    query = select(CalendarDay.day, CalendarDay.working, CalendarDay.name).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    return [(row.day, row.working, row.name) for row in await session.execute(query)]


async def mark_year(
    session: AsyncSession, year: int, *, source: str, updated_by_id: int | None
) -> None:
    """Define the year here (or note its new source): its days come from this table now."""
    stmt = _insert(session)(CalendarYear).values(
        year=year, source=source, updated_at=utcnow(), updated_by_id=updated_by_id
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["year"],
        set_={
            "source": stmt.excluded.source,
            "updated_at": stmt.excluded.updated_at,
            "updated_by_id": stmt.excluded.updated_by_id,
        },
    )
    await session.execute(stmt)


async def replace_days(session: AsyncSession, year: int, rows: Iterable[DayRow]) -> None:
    """The year's stored days become `rows` (all of them in that year)."""
    await session.execute(
        delete(CalendarDay).where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    )
    values = [{"day": day, "working": working, "name": name} for day, working, name in rows]
    if values:
        await session.execute(_insert(session)(CalendarDay), values)


async def put_day(session: AsyncSession, day: date, *, working: bool, name: str | None) -> None:
    stmt = _insert(session)(CalendarDay).values(day=day, working=working, name=name)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day"],
        set_={"working": stmt.excluded.working, "name": stmt.excluded.name},
    )
    await session.execute(stmt)


async def delete_day(session: AsyncSession, day: date) -> bool:
    """Remove the stored day; whether there was one."""
    result = await session.execute(delete(CalendarDay).where(CalendarDay.day == day))
    return bool(result.rowcount)


async def version(session: AsyncSession) -> tuple[Any, ...]:
    """What changes with every change of the stored calendar, in one small query: the latest
    change of the hours and of the years, and how many years are stored."""
    row = await session.execute(
        select(
            select(func.max(CalendarHours.updated_at)).scalar_subquery(),
            select(func.max(CalendarYear.updated_at)).scalar_subquery(),
            select(func.count()).select_from(CalendarYear).scalar_subquery(),
        )
    )
    return tuple(row.one())
